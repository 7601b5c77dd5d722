use super::*;
use clap::CommandFactory;

#[test]
fn cli_definition_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn a_url_from_the_store_gets_the_command_line_defaults() {
    let a = RemoteArgs::for_url("https://h.example/mcp", true);
    let given = Cli::try_parse_from(["mcp-valet", "https://h.example/mcp"])
        .unwrap()
        .bridge
        .remote;
    assert_eq!(a.url.as_deref(), Some("https://h.example/mcp"));
    assert_eq!(a.connect_timeout, given.connect_timeout);
    assert_eq!(a.transport, given.transport);
    assert!(a.allow_http && !given.allow_http);
}

/// The bridge-only parser reads a bridge command line as the full one does.
#[test]
fn the_bridge_parser_agrees_with_the_full_one() {
    BridgeCli::command().debug_assert();
    let argv = [
        "mcp-valet",
        "https://h.example/mcp",
        "--request-timeout",
        "90s",
        "-vv",
        "--allow-http",
    ];
    let full = Cli::try_parse_from(argv).unwrap();
    let bridge = BridgeCli::try_parse_from(argv).unwrap();
    assert!(full.command.is_none());
    assert_eq!(format!("{:?}", full.bridge), format!("{:?}", bridge.bridge));
    assert_eq!(format!("{:?}", full.log), format!("{:?}", bridge.log));
    // mcp-remote's port after the URL, read the same by both.
    let argv = ["mcp-valet", "https://h.example/mcp", "3334", "--debug"];
    let (full, bridge) = (
        Cli::try_parse_from(argv).unwrap(),
        BridgeCli::try_parse_from(argv).unwrap(),
    );
    assert_eq!((full.port, bridge.port), (Some(3334), Some(3334)));
    // A subcommand after the URL is not a bridge command line for either.
    assert!(BridgeCli::try_parse_from(["mcp-valet", "https://h.example/mcp", "login"]).is_err());
    assert!(Cli::try_parse_from(["mcp-valet", "https://h.example/mcp", "login"]).is_err());
}

#[test]
fn durations() {
    assert_eq!(parse_duration("300").unwrap(), Duration::from_secs(300));
    assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
    assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert!(parse_duration("0").is_err());
    assert!(parse_duration("5 parsecs").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn sizes() {
    assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
    assert_eq!(parse_size("512k").unwrap(), 512 << 10);
    assert_eq!(parse_size("2048").unwrap(), 2048);
    assert!(parse_size("10").is_err());
    assert!(parse_size("lots").is_err());
}
