# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_mcp_valet_global_optspecs
    string join \n H/header= header-file= transport= protocol= allow-http ca-file= connect-timeout= ipv4 enable-proxy headers-timeout= body-timeout= disable-cookies request-timeout= max-request-time= max-message-size= keep-alive ping-interval= allow-tool= deny-tool= ignore-tool= client-id= client-secret= client-metadata-url= scope= resource= no-resource assume-pkce authorize-param= device client-credentials no-browser callback-port= redirect-uri= auth-timeout= auth-success-url= use-id-token token-endpoint= issuer= static-oauth-client-info= static-oauth-client-metadata= host= callback-path= profile= token-store= v/verbose q/quiet log-file= debug silent h/help V/version
end

function __fish_mcp_valet_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_mcp_valet_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_mcp_valet_using_subcommand
    set -l cmd (__fish_mcp_valet_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -s V -l version -d 'Print version'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "login" -d 'Sign in to a server now (mcp-valet also signs in by itself when a server asks)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "logout" -d 'Sign out: revoke the tokens at the server when it allows, and delete them'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "status" -d 'Show who is signed in where, and whether each login is usable (exit 4 if not)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "token" -d 'Print a valid access token for a server on stdout (refreshing it if needed)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "tools" -d 'List the server\'s tools: name, title, description and required arguments'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "call" -d 'Call one of the server\'s tools and print what it returns'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "resources" -d 'List the server\'s resources'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "read" -d 'Read one resource of the server and print its contents'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "prompts" -d 'List the server\'s prompts and their arguments'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "doctor" -d 'Check each step of the way to a server (DNS, TCP, TLS, transport, sign-in) and say what to fix'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "config" -d 'Print the configuration that makes an MCP client start mcp-valet (--write: add it to the client\'s configuration file)'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "import" -d 'Import the logins another tool kept: mcp-remote\'s client registrations and tokens'
complete -c mcp-valet -n "__fish_mcp_valet_needs_command" -a "completions" -d 'Write a shell completion script to stdout'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l with-token -d 'Read a token (an API key the server accepts as a bearer token) from stdin and keep it in the token store instead of signing in: `mcp-valet login URL --with-token < key.txt`'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l no-check -d 'With --with-token: keep the token without first asking the server whether it accepts it (one MCP `initialize` with the token). `status` shows which tokens were checked'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l resource -d 'Only the login made with this --resource (one tenant\'s; default: every tenant\'s)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l profile -d 'Only the login kept under this profile name (--all: every profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l all -d 'Every login (of this server, or of all servers when no URL is given)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l allow-http -d 'Allow plain http:// to hosts other than loopback for the revocation request'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l profile -d 'Only the logins kept under this profile name' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l json -d 'Print JSON for scripts'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l events -d 'Show the last authentication events (sign-ins, refreshes, failures, …) from the audit log instead of the logins'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l client-id -d 'The pre-registered OAuth client the login was made with (`login --client-id`), whose secret refreshing needs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l client-secret -d 'The secret of --client-id. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l resource -d 'The login made with this --resource (one tenant\'s)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l profile -d 'The login kept under this profile name' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand token" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l json -d 'Print the tools as JSON (the server\'s tool objects) for scripts'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand tools" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l arg -d 'One argument, `key=value` (repeatable), typed by the tool\'s input schema' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l json -d 'Print the whole result as JSON instead of its text content'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand call" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l json -d 'Print JSON (the server\'s objects) for scripts'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand resources" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l json -d 'Print the whole result as JSON instead of the text contents'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand read" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l json -d 'Print JSON (the server\'s objects) for scripts'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand prompts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -s H -l header -d 'Extra HTTP header for every request to the server, `Name: value` (repeatable). `${VAR}` in the value is replaced by the environment variable VAR. Values are never logged' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l header-file -d 'Read extra headers from a file, one `Name: value` per line (blank lines and lines starting with `#` are ignored; `${VAR}` is expanded). Keeps secrets out of `ps`' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l transport -d 'Transport to the server: try Streamable HTTP and fall back to HTTP+SSE (auto), or force one' -r -f -a "auto\t'Streamable HTTP, falling back to HTTP+SSE when the server answers 400, 404 or 405 (mcp-remote\'s `http-first`; its `sse-first` also means this here)'
streamable-http\t'Streamable HTTP only (MCP 2025-03-26 and later; mcp-remote\'s `http-only`)'
sse\t'The older HTTP+SSE transport only (MCP 2024-11-05; mcp-remote\'s `sse-only`)'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l protocol -d 'MCP protocol revision: ask the server (auto, remembered per server), the initialize-based revisions up to 2025-11-25 (legacy), or 2026-07-28 (modern)' -r -f -a "auto\t'Probe with `server/discover` once, remember the answer per server, re-probe when it proves wrong'
legacy\t'The initialize-based revisions (2025-11-25 and older) only; never probe'
modern\t'MCP 2026-07-28 only'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l ca-file -d 'Trust the CA certificates in this PEM file, in addition to the system\'s trust store' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l connect-timeout -d 'Give up connecting to the server after this long' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l headers-timeout -d 'mcp-remote\'s wait for response headers; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l body-timeout -d 'mcp-remote\'s wait between chunks of a body; here --request-timeout bounds each request' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l request-timeout -d 'Give up on a request after this long without an answer (progress notifications reset the clock). Accepts e.g. `300`, `90s`, `5m`, `1h`, `500ms`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l max-request-time -d 'Upper bound for one request however much progress it reports' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l max-message-size -d 'Largest JSON-RPC message accepted from the client or the server (e.g. `64MiB`)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l ping-interval -d 'The period of --keep-alive (giving it turns keep-alive on). A bare number is seconds' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l allow-tool -d 'Show and allow only tools matching this glob (`*`, `?`; repeatable)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l deny-tool -d 'Hide tools matching this glob and refuse calls to them (repeatable; wins over --allow-tool)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l ignore-tool -d 'As --deny-tool, but matched without regard to case (mcp-remote\'s spelling and meaning)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l client-id -d 'Use this pre-registered OAuth client id instead of registering one' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l client-secret -d 'The secret of the pre-registered client. Prefer MCP_VALET_CLIENT_SECRET: argv is visible in `ps`' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l client-metadata-url -d 'An https URL whose JSON document describes this client (a client ID metadata document), used when the authorization server supports them' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l scope -d 'Scopes to request (space-separated or repeated). Default: what the server asks for' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l resource -d 'Send this value as the RFC 8707 `resource` parameter instead of the one the server publishes. Logins made with it are kept apart from the server\'s other logins (one per tenant, as with mcp-remote). An empty value is --no-resource' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l authorize-param -d 'An extra parameter for the authorization request, `key=value` (repeatable), e.g. `access_type=offline` for Google' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l callback-port -d 'Port of the loopback listener that receives the browser\'s redirect. Default: derived from the server URL, so a registration stays valid across runs' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l redirect-uri -d 'The redirect URI to register and send, a loopback http URL such as `http://localhost/` (its port may be omitted). Default: http://127.0.0.1:<port>/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l auth-timeout -d 'Give up waiting for the sign-in after this long. Default: 5m in the browser; with --device, as long as the device code is valid' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l auth-success-url -d 'After a browser sign-in, send the browser on to this page (https, or http on this machine)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l token-endpoint -d 'With --client-credentials: the authorization server\'s token endpoint, for servers that publish no metadata (discovery is skipped)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l issuer -d 'The authorization server (its issuer) to sign in at: refuse any other the server names. A pre-registered client is otherwise bound to the issuer of its first sign-in; this moves it (see docs/security.md)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l static-oauth-client-info -d 'A pre-registered client as JSON, `{"client_id": "…", "client_secret": "…"}`, or `@FILE` to read it from a file (`${VAR}` is expanded): --client-id and --client-secret' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l static-oauth-client-metadata -d 'Client metadata as JSON or `@FILE`: `scope` (as --scope), `token_endpoint_auth_method`, and fields to send when registering (`client_name`, …)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l host -d 'The host name of the redirect URI (`localhost` or `127.0.0.1`); with it, --callback-path or a port after the URL, the redirect URI is mcp-remote\'s http://HOST:PORT/oauth/callback' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l callback-path -d 'The path of the redirect URI (mcp-remote\'s default: /oauth/callback)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l allow-http -d 'Allow plain http:// to hosts other than loopback (tokens and data travel unencrypted)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l ipv4 -d 'Connect over IPv4 only (for networks whose IPv6 routes lose packets instead of refusing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l enable-proxy -d 'Use the proxy from HTTP_PROXY/HTTPS_PROXY/NO_PROXY: mcp-valet always does (this changes nothing)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l disable-cookies -d 'Do not keep the cookies the MCP server sets (by default they are sent back to it, for load balancers that keep a session on one node by cookie)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l keep-alive -d 'Send the server a `ping` every 30s (or --ping-interval) while the bridge runs, so that an idle session is not dropped by the server or a load balancer'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l no-resource -d 'Do not send the `resource` parameter (Microsoft Entra ID v2 rejects it: AADSTS9010010). Wins over --resource'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l assume-pkce -d 'Trust that the authorization server supports PKCE S256 although its metadata does not say so'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l device -d 'Sign in with the device authorization grant (a code to enter on another device)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l client-credentials -d 'Sign in as the client itself (client credentials grant; needs --client-id and a secret)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l no-browser -d 'Print the sign-in URL on stderr instead of opening a browser'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l use-id-token -d 'Send the ID token to the server instead of the access token (servers that check who the caller is, such as AWS Cognito in front of Bedrock AgentCore)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l json -d 'Print the steps as JSON for scripts'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l name -d 'The server\'s name in the client\'s configuration. Default: from the URL\'s host' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l config-path -d 'With --write: this file instead of the client\'s usual one' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l npx -d 'Start mcp-valet with `npx -y mcp-valet` instead of this binary\'s absolute path'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l write -d 'Add the snippet to the client\'s configuration file (a backup is made first)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand config" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l resource -d 'The `--resource` mcp-remote was given for these servers' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -s H -l header -d 'A `--header` mcp-remote was given (repeatable), as written in the configuration' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l dir -d 'mcp-remote\'s directory. Default: MCP_REMOTE_CONFIG_DIR, else ~/.mcp-auth' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l profile -d 'Keep a second identity for the same server under this name (and use it later with the same --profile)' -r
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l token-store -d 'Where tokens are kept: the OS keyring (default, falling back to a 0600 file when no keyring is usable), a file, or memory (this run only). Default: MCP_VALET_TOKEN_STORE' -r -f -a "keyring\t'The OS keyring (Secret Service, Keychain, Credential Manager)'
file\t'A 0600 file under the state directory'
memory\t'This process only; nothing is written'"
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l remove -d 'After importing, delete mcp-remote\'s files of the imported servers'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l allow-http -d 'Allow plain http:// to hosts other than loopback (to find the authorization server)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -l log-file -d 'Write logs to this file instead of stderr. MCP_VALET_LOG (e.g. `debug`) overrides the level' -r -F
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v info, -vv debug, -vvv trace)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -s q -l quiet -d 'Only errors on stderr'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -l debug -d 'Debug logs on stderr (-vv; mcp-remote\'s spelling). Wins over --silent'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -l silent -d 'Only errors on stderr (-q; mcp-remote\'s spelling)'
complete -c mcp-valet -n "__fish_mcp_valet_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
