#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mcp_valet::fuzzing::www_authenticate(data));
