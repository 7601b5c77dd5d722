//! `mcp-valet token <URL>`: a valid access token on stdout, for shell pipelines such as
//! `curl -H "Authorization: Bearer $(mcp-valet token URL)"`.

use std::io::Write;
use std::sync::Arc;

use crate::auth::OAuth;
use crate::cli::TokenArgs;
use crate::http::HttpConfig;
use crate::store::Store;

use super::LOGIN_REQUIRED;

pub async fn run(args: &TokenArgs) -> anyhow::Result<u8> {
    let http = HttpConfig::new(&crate::settings::http(&args.remote)?)?;
    let settings = crate::settings::auth(&args.auth)?;
    let store = Arc::new(Store::open(&settings.store).map_err(|e| anyhow::anyhow!("opening the token store: {e}"))?);
    let oauth = OAuth::new(http, settings, store, false);
    match oauth.access_token().await {
        Ok(token) => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", token.expose())?;
            out.flush()?;
            Ok(0)
        }
        Err(e) if e.login_required => {
            eprintln!("mcp-valet: {e}. Sign in with `{}`", oauth.login_hint());
            Ok(LOGIN_REQUIRED)
        }
        Err(e) => Err(e.into()),
    }
}
