//! `mcp-valet token <URL>`: a valid access token on stdout, for shell pipelines such as
//! `curl -H "Authorization: Bearer $(mcp-valet token URL)"`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;

use crate::auth::{Interaction, OAuthClient};
use crate::cli::TokenArgs;
use crate::http::HttpConfig;
use crate::store::Store;

use super::console::Console;
use crate::exit::LoginRequired;

pub async fn run(args: &TokenArgs, console: &Console) -> anyhow::Result<()> {
    let http = HttpConfig::new(&crate::settings::http(&args.remote)?)?;
    let settings = crate::settings::token(args)?;
    let store = Arc::new(Store::open(&settings.store).context("opening the token store")?);
    let oauth = OAuthClient::new(http, settings, store, Interaction::Never);
    match oauth.access_token().await {
        Ok(token) => {
            let mut out = console.result();
            writeln!(out, "{}", token.expose())?;
            out.flush()?;
            Ok(())
        }
        Err(e) if e.login_required => {
            Err(LoginRequired::because(format!("{e}. Sign in with `{}`", oauth.login_hint())).into())
        }
        Err(e) => Err(e.into()),
    }
}
