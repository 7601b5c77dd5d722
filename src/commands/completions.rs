//! `mcp-valet completions <shell>`: the completion script, generated from the clap definitions,
//! with two repairs for bash: clap_complete misspells the subcommands' match arms for a binary
//! name with a hyphen (so no subcommand's options completed), and the URL of every subcommand
//! that takes one (`<URL>` as its positional argument: status, logout, token, login, and any
//! added later) completes from the stored logins, which `MCP_VALET_COMPLETE=urls mcp-valet`
//! lists.

use clap::CommandFactory;

use crate::cli::Cli;

const BIN: &str = "mcp-valet";

/// The environment variable that makes `mcp-valet` print the stored server URLs, one per
/// line, for the completion scripts (as clap_complete's own dynamic completion does with
/// `COMPLETE`).
pub const COMPLETE_ENV: &str = "MCP_VALET_COMPLETE";

pub fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    // Into memory first: clap_complete panics when a write fails (`completions bash | head`).
    let mut script = Vec::new();
    write(shell, &mut script);
    let mut out = std::io::stdout().lock();
    std::io::Write::write_all(&mut out, &script)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

pub fn write(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    if shell == clap_complete::Shell::Bash {
        script = bash(&String::from_utf8_lossy(&script)).into_bytes();
    }
    let _ = out.write_all(&script);
}

/// The subcommands whose positional argument is a server URL.
fn url_subcommands() -> Vec<String> {
    Cli::command()
        .get_subcommands()
        .filter(|c| {
            c.get_positionals()
                .next()
                .and_then(|a| a.get_value_names())
                .is_some_and(|n| n.first().is_some_and(|n| n == "URL"))
        })
        .map(|c| c.get_name().to_owned())
        .collect()
}

fn bash(script: &str) -> String {
    // clap_complete names the function and `cmd` values after the binary with `-` → `__`,
    // but the match arms with `-` → `__subcmd__`: `mcp__subcmd__valet__subcmd__status)`.
    let func = BIN.replace('-', "__");
    let mut s = script.replace(&BIN.replace('-', "__subcmd__"), &func);
    for sub in url_subcommands() {
        let arm = format!("        {func}__subcmd__{sub})\n");
        let Some(start) = s.find(&arm) else { continue };
        let end = s[start..].find("\n            ;;\n").map_or(s.len(), |e| start + e);
        let body = s[start..end].replace(
            "COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )\n",
            &format!("COMPREPLY=( $(compgen -W \"${{opts}}\" -- \"${{cur}}\") )\n                [[ ${{cur}} == -* ]] || _{func}_urls\n"),
        );
        s.replace_range(start..end, &body);
    }
    s.push_str(&format!(
        r#"
# The server URLs of the stored logins, for the subcommands that take one. A URL holds `:`,
# which bash splits words at: complete the whole word up to the cursor, then give back only
# what follows its last `:` (as bash-completion's __ltrim_colon_completions does).
_{func}_urls() {{
    local line="${{COMP_LINE:0:COMP_POINT}}"
    local word="${{line##*[[:space:]]}}"
    local colon="" url
    [[ "${{word}}" == *:* ]] && colon="${{word%"${{word##*:}}"}}"
    while IFS= read -r url; do
        [[ -n "${{url}}" && "${{url}}" == "${{word}}"* ]] && COMPREPLY+=( "${{url#"${{colon}}"}}" )
    done < <({COMPLETE_ENV}=urls "${{COMP_WORDS[0]}}" 2>/dev/null)
}}
"#
    ));
    s
}

/// `MCP_VALET_COMPLETE=urls mcp-valet`: the stored logins' server URLs, one per line, from the
/// non-secret state (no keyring access). Nothing, and success, when there is no store yet.
pub fn urls() -> anyhow::Result<()> {
    let Ok(store) = crate::store::Store::open(&crate::settings::store(&Default::default())) else {
        return Ok(());
    };
    let mut urls: Vec<String> = store
        .entries()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, _)| k.resource)
        // A query may carry a key (as `status` and the logs treat it): not offered.
        .filter(|u| !u.contains(['?', '#']))
        .collect();
    urls.sort();
    urls.dedup();
    let mut out = std::io::stdout().lock();
    for u in urls {
        std::io::Write::write_all(&mut out, format!("{u}\n").as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_subcommands_that_take_a_url_are_found_from_the_definitions() {
        let subs = super::url_subcommands();
        for s in ["login", "status", "logout", "token"] {
            assert!(subs.contains(&s.to_owned()), "{subs:?}");
        }
        assert!(!subs.contains(&"completions".to_owned()));
    }
}
