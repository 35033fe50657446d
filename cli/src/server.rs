//! `brook server`: the broker with its Kafka listener, and the ksqlDB REST API (port 8088) with
//! the SQL engine over the same broker, in one process; or, with `--bootstrap-server`, only the
//! SQL engine and its REST API over any Kafka-protocol cluster (librdkafka).

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use brook_broker::server::{serve, ServerConfig};
use brook_broker::{Broker, BrokerConfig};
use clap::Args;

/// Flags of `brook server`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// A `server.properties`-style file (broker keys and `listeners`, `advertised.listeners`,
    /// `socket.request.max.bytes`, `connections.max.idle.ms`, `sasl.plain.users`; the Connect
    /// worker's keys prefixed `connect.`, e.g. `connect.group.id`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `key=value`, applied after the file (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Listen address. Default: 127.0.0.1:9092 (or `listeners` from the config).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,
    /// Data directory. Default: ./data (or `log.dirs` from the config).
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// ksqlDB REST API address. Default: 127.0.0.1:8088.
    #[arg(long = "ksql-listen", value_name = "HOST:PORT", default_value = "127.0.0.1:8088")]
    pub ksql_listen: String,
    /// Run the broker only, without the SQL engine and its REST API.
    #[arg(long = "no-ksql", conflicts_with = "bootstrap_server")]
    pub no_ksql: bool,
    /// Run only the SQL engine and its REST API, against the Kafka-protocol cluster at
    /// `HOST:PORT[,HOST:PORT...]` (no embedded broker). SQL servers with one
    /// `--ksql-service-id` share the queries' partitions.
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT")]
    pub bootstrap_server: Option<String>,
    /// `ksql.service.id`: names the command topic and the queries' consumer groups.
    #[arg(long = "ksql-service-id", value_name = "ID", default_value = "default_")]
    pub ksql_service_id: String,
    /// Require HTTP basic authentication on the REST API, with the users of FILE: one
    /// `user: password[,role ...]` a line (Jetty's property file, as ksqlDB's
    /// `PropertyFileLoginModule` reads it; passwords plain, `OBF:` or `MD5:`).
    #[arg(long = "ksql-auth", value_name = "FILE")]
    pub ksql_auth: Option<PathBuf>,
    /// With --ksql-auth: only users holding one of these roles get in (ksqlDB's
    /// `authentication.roles`). Default: any user of the file.
    #[arg(long = "ksql-auth-roles", value_name = "ROLE,...", value_delimiter = ',', requires = "ksql_auth")]
    pub ksql_auth_roles: Vec<String>,
    /// Serve the REST API over HTTPS with this certificate chain (PEM); needs --ksql-tls-key.
    #[arg(long = "ksql-tls-cert", value_name = "PEM", requires = "ksql_tls_key")]
    pub ksql_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --ksql-tls-cert.
    #[arg(long = "ksql-tls-key", value_name = "PEM", requires = "ksql_tls_cert")]
    pub ksql_tls_key: Option<PathBuf>,
    /// Schema Registry REST API address. Default: 127.0.0.1:8081. With --bootstrap-server the
    /// registry runs only when this is given (its `_schemas` topic on that cluster).
    #[arg(long = "schema-registry-listen", value_name = "HOST:PORT")]
    pub schema_registry_listen: Option<String>,
    /// Run without the Schema Registry.
    #[arg(long = "no-schema-registry", conflicts_with_all = ["schema_registry_listen", "schema_registry_url"])]
    pub no_schema_registry: bool,
    /// Use the Schema Registry at URL instead of serving one (the SQL engine talks to it).
    #[arg(long = "schema-registry-url", value_name = "URL", conflicts_with = "schema_registry_listen")]
    pub schema_registry_url: Option<String>,
    /// Where the in-process Kafka Connect worker's REST API listens. Default: 127.0.0.1:8083
    /// (if taken, the worker runs without its REST API; the SQL statements still reach it).
    #[arg(long = "connect-listen", value_name = "HOST:PORT")]
    pub connect_listen: Option<String>,
    /// Run without the in-process Kafka Connect worker.
    #[arg(long = "no-connect", conflicts_with = "connect_listen")]
    pub no_connect: bool,
    /// The in-process distributed worker's `connect-distributed.properties` (`group.id`, the
    /// storage topics, `key.converter`, `value.converter`, `offset.flush.interval.ms`, ...);
    /// `connect.*` keys of --config / --override win over it. Default: Kafka's sample file
    /// (group `connect-cluster`, topics `connect-configs`, `connect-offsets`,
    /// `connect-status`, JsonConverter for keys and values).
    #[arg(long = "connect-config", value_name = "FILE", conflicts_with = "no_connect")]
    pub connect_config: Option<PathBuf>,
}

/// The Schema Registry's default address.
pub const SCHEMA_REGISTRY_LISTEN: &str = "127.0.0.1:8081";

/// The prefix of the in-process Connect worker's keys in `--config` and `--override`
/// (`connect.group.id=my-group`).
pub const CONNECT_PREFIX: &str = "connect.";

/// What `brook server` is configured with: the broker, its listener, and the in-process Connect
/// worker's keys given as `connect.KEY` in `--config` / `--override` (prefix removed).
#[derive(Debug)]
pub struct Configs {
    /// The broker.
    pub broker: BrokerConfig,
    /// The Kafka listener.
    pub server: ServerConfig,
    /// The Connect worker's keys (`group.id`, ...), after `--connect-config`'s.
    pub connect: brook_connect::Config,
}

/// Builds the configurations from the flags.
///
/// # Errors
/// Unreadable files, unknown keys, bad values.
pub fn configs(args: &ServerArgs) -> anyhow::Result<Configs> {
    let mut broker = BrokerConfig::default();
    let mut server = ServerConfig::default();
    let mut connect = brook_connect::Config::new();
    let mut apply = |k: &str, v: &str| -> anyhow::Result<()> {
        if let Some(key) = k.strip_prefix(CONNECT_PREFIX).filter(|key| !key.is_empty()) {
            connect.insert(key.to_owned(), v.to_owned());
        } else if !server.set(k, v)? {
            broker.set(k, v)?;
        }
        Ok(())
    };
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let lines = brook_broker::config::parse_properties(&text).with_context(|| format!("{}", path.display()))?;
        for (n, k, v) in lines {
            apply(k, v).with_context(|| format!("{}:{n}", path.display()))?;
        }
    }
    for (k, v) in crate::parse_kv("--override", &args.overrides)? {
        apply(&k, &v).with_context(|| format!("--override {k}={v}"))?;
    }
    if let Some(l) = &args.listen {
        server.listen = listen_addr(l)?;
    }
    if let Some(d) = &args.data_dir {
        broker.log_dir = d.clone();
    }
    Ok(Configs { broker, server, connect })
}

/// `HOST:PORT` (a name such as `localhost:9092` resolves to its first address).
fn listen_addr(l: &str) -> anyhow::Result<SocketAddr> {
    let bad = || format!("invalid --listen address {l:?}: expected HOST:PORT, e.g. 127.0.0.1:9092");
    if let Ok(a) = l.parse() {
        return Ok(a);
    }
    l.to_socket_addrs().with_context(bad)?.next().with_context(bad)
}

/// Fails, naming the path, when the data directory (or a directory above it) is a file: the
/// broker would only report `File exists` or `Not a directory`.
pub fn check_data_dir(dir: &Path) -> anyhow::Result<()> {
    for p in dir.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) if p == dir => bail!(
                "data directory {} is not a directory (a file is in the way): pass another --data-dir or remove the file",
                dir.display()
            ),
            Ok(_) => bail!(
                "data directory {} cannot be created: {} is not a directory (a file is in the way): pass another --data-dir or remove the file",
                dir.display(),
                p.display()
            ),
            Err(_) => continue,
        }
    }
    Ok(())
}

pub(crate) async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    if let Some(bootstrap) = &args.bootstrap_server {
        return run_sql_only(&args, bootstrap, shutdown).await;
    }
    let Configs { broker: bc, server: sc, connect: connect_keys } = configs(&args)?;
    check_data_dir(&bc.log_dir)?;
    let listener = tokio::net::TcpListener::bind(sc.listen).await.with_context(|| {
        format!("cannot listen on {} (is another broker running there? pick another address with --listen HOST:PORT)", sc.listen)
    })?;
    let dir = bc.log_dir.clone();
    let broker = Broker::open(bc)
        .await
        .with_context(|| format!("cannot open the broker's data directory {}", dir.display()))?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    watch_external_registry(args.schema_registry_url.clone(), stopped.clone());
    let mut registry_url = args.schema_registry_url.clone();
    let registry = match schema_registry_addr(&args, true)? {
        Some(addr) => match crate::schema_registry::bind(addr, args.schema_registry_listen.is_some()).await? {
            Some(listener) => {
                registry_url = Some(format!("http://{}", listener.local_addr()?));
                let log = brook_schema_registry::EmbeddedLog::open(broker.clone(), "_schemas").context("the _schemas topic")?;
                let (_registry, serving) = crate::schema_registry::start(std::sync::Arc::new(log), listener, stopped.clone()).await?;
                Some(tokio::spawn(serving))
            }
            None => None,
        },
        None => None,
    };
    let connect = if args.no_connect { None } else { crate::connect::start_in_process(args.connect_listen.as_deref(), args.connect_config.as_deref(), broker.clone(), &sc, listener.local_addr()?, &dir, &connect_keys).await? };
    let ksql = if args.no_ksql {
        None
    } else {
        let mut engine = brook_sql_engine::EngineConfig::live(broker.clone(), dir.join("ksql"));
        use_schema_registry(&mut engine, registry_url);
        if let Some(c) = &connect {
            engine.connect = Some(c.herder.clone());
        }
        Some(tokio::spawn(serve_ksql(&args, engine, stopped.clone()).await?))
    };
    let signal = async move {
        shutdown.await;
        // The Connect worker stops first, while the broker serves: its tasks flush their
        // offsets and it leaves its group through the listener.
        if let Some(connect) = connect {
            if let Err(e) = connect.stop().await {
                tracing::warn!(error = %crate::report(&e), "stopping the Connect worker");
            }
        }
        let _ = stop.send(true);
    };
    serve(broker, listener, sc, signal).await?;
    if let Some(ksql) = ksql {
        ksql.await.context("the ksqlDB REST server stopped")??;
    }
    if let Some(registry) = registry {
        registry.await.context("the Schema Registry stopped")??;
    }
    Ok(())
}

/// With `--schema-registry-url`: checks in the background that the registry answers, logging a
/// clear error naming it and trying again after a wait that doubles from 1 s up to 30 s while it
/// is down (the SQL formats retry their own requests too), until it answers or `stop` turns true.
/// `brook server` serves meanwhile: statements that need no registry work.
fn watch_external_registry(url: Option<String>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let Some(url) = url else { return };
    tokio::spawn(async move {
        let client = match brook_schema::HttpClient::new(brook_schema::HttpClientConfig::new(&url)) {
            Ok(client) => std::sync::Arc::new(client),
            Err(e) => return tracing::error!(%url, error = %e, "--schema-registry-url"),
        };
        let mut wait = std::time::Duration::from_secs(1);
        loop {
            let c = client.clone();
            match tokio::task::spawn_blocking(move || c.check()).await {
                Ok(Ok(())) => return tracing::info!(%url, "the Schema Registry answers"),
                Ok(Err(e)) if e.is_transient() => {
                    tracing::error!(%url, error = %e, retry_in_s = wait.as_secs(), "the Schema Registry (--schema-registry-url) is not reachable; retrying");
                }
                Ok(Err(e)) => return tracing::error!(%url, error = %e, "the Schema Registry (--schema-registry-url) refused the check"),
                Err(_) => return,
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
            wait = (wait * 2).min(std::time::Duration::from_secs(30));
        }
    });
}

/// Points the SQL engine's AVRO format at the registry `brook server` runs (or at
/// `--schema-registry-url`), as ksqlDB's `ksql.schema.registry.url`, unless the engine's
/// properties already name one.
fn use_schema_registry(engine: &mut brook_sql_engine::EngineConfig, url: Option<String>) {
    if let Some(url) = url {
        engine.properties.entry(brook_sql_engine::engine::SCHEMA_REGISTRY_URL.to_owned()).or_insert(url);
    }
}

/// Where the Schema Registry listens, if it runs: by default on the embedded broker
/// (`embedded`), only when `--schema-registry-listen` is given over `--bootstrap-server`;
/// never with `--no-schema-registry` or `--schema-registry-url`.
pub fn schema_registry_addr(args: &ServerArgs, embedded: bool) -> anyhow::Result<Option<SocketAddr>> {
    if args.no_schema_registry || args.schema_registry_url.is_some() {
        return Ok(None);
    }
    match &args.schema_registry_listen {
        Some(l) => Ok(Some(listen_addr(l).context("--schema-registry-listen")?)),
        None if embedded => Ok(Some(listen_addr(SCHEMA_REGISTRY_LISTEN)?)),
        None => Ok(None),
    }
}

/// `--bootstrap-server`: the SQL engine and its REST API over the cluster there (state under
/// `<data dir>/ksql`), until `shutdown`.
async fn run_sql_only(args: &ServerArgs, bootstrap: &str, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from("./data"));
    check_data_dir(&data_dir)?;
    let mut engine = brook_sql_engine::EngineConfig::kafka(bootstrap, data_dir.join("ksql")).context("--bootstrap-server")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    watch_external_registry(args.schema_registry_url.clone(), stopped.clone());
    let mut registry_url = args.schema_registry_url.clone();
    let registry = match (schema_registry_addr(args, false)?, engine.cluster.clone()) {
        (Some(addr), Some(cluster)) => {
            let listener = crate::schema_registry::bind(addr, true).await?.context("the Schema Registry's address")?;
            registry_url = Some(format!("http://{}", listener.local_addr()?));
            let log = tokio::task::spawn_blocking(move || crate::schema_registry::ClusterLog::open(cluster, "_schemas"))
                .await
                .context("the _schemas topic")??;
            let (_registry, serving) = crate::schema_registry::start(std::sync::Arc::new(log), listener, stopped.clone()).await?;
            Some(tokio::spawn(serving))
        }
        _ => None,
    };
    use_schema_registry(&mut engine, registry_url);
    let ksql = tokio::spawn(serve_ksql(args, engine, stopped).await?);
    tracing::info!(bootstrap, service_id = %args.ksql_service_id, "SQL server over a Kafka cluster");
    shutdown.await;
    let _ = stop.send(true);
    if let Some(registry) = registry {
        registry.await.context("the Schema Registry stopped")??;
    }
    ksql.await.context("the ksqlDB REST server stopped")?
}

/// The REST server's configuration from the flags (`advertised` as given): the password file
/// and the TLS files are read here, so a bad one stops `brook server` before it serves.
pub fn ksql_config(args: &ServerArgs, advertised: String) -> anyhow::Result<brook_ksql_server::KsqlServerConfig> {
    let auth = match &args.ksql_auth {
        Some(path) => {
            let auth = brook_ksql_server::BasicAuth::from_file(path).context("--ksql-auth")?.with_roles(args.ksql_auth_roles.clone());
            if auth.is_empty() {
                bail!("--ksql-auth {}: the file defines no user, so every request would be refused", path.display());
            }
            Some(std::sync::Arc::new(auth))
        }
        None => None,
    };
    let tls = match (&args.ksql_tls_cert, &args.ksql_tls_key) {
        (Some(cert), Some(key)) => Some(brook_ksql_server::TlsConfig::from_pem_files(cert, key).context("--ksql-tls-cert/--ksql-tls-key")?),
        _ => None,
    };
    Ok(brook_ksql_server::KsqlServerConfig { advertised, auth, tls, service_id: args.ksql_service_id.clone(), ..Default::default() })
}

/// Binds the ksqlDB REST listener (`--ksql-listen`) and starts `engine` (service id
/// `--ksql-service-id`); the returned future serves until `stopped` turns true.
async fn serve_ksql(
    args: &ServerArgs,
    engine: brook_sql_engine::EngineConfig,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<()>>> {
    let addr = listen_addr(&args.ksql_listen).context("--ksql-listen")?;
    let config = ksql_config(args, addr.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the ksqlDB REST API (pick another address with --ksql-listen HOST:PORT, or --no-ksql)"))?;
    // Starting blocks (topic creation, the command topic's replay): off the async workers.
    let server = tokio::task::spawn_blocking(move || brook_ksql_server::KsqlServer::start(engine, config))
        .await
        .context("starting the SQL engine")?
        .context("cannot start the SQL engine")?;
    let stop = async move {
        let _ = stopped.wait_for(|s| *s).await;
    };
    Ok(async move { server.serve(listener, stop).await.context("ksqlDB REST API") })
}

/// Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled, so a signal that arrives while the broker opens still shuts it down cleanly.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        match signals {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_then_overrides_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.properties");
        std::fs::write(
            &file,
            "# brook\nnum.partitions=3\nlisteners=PLAINTEXT://127.0.0.1:29092\nsasl.plain.users=alice:secret\nlog.dirs=/tmp/x\n\
             connect.group.id=from-file\nconnect.offset.flush.interval.ms=500\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(file.clone()),
            overrides: vec!["num.partitions=5".into(), "connections.max.idle.ms=1000".into(), "connect.group.id=brook-workers".into()],
            listen: None,
            data_dir: Some(dir.path().join("data")),
            ksql_listen: "127.0.0.1:8088".into(),
            no_ksql: true,
            bootstrap_server: None,
            ksql_service_id: "default_".into(),
            ksql_auth: None,
            ksql_auth_roles: vec![],
            ksql_tls_cert: None,
            ksql_tls_key: None,
            schema_registry_listen: None,
            no_schema_registry: false,
            connect_listen: None,
            no_connect: true,
            connect_config: None,
            schema_registry_url: None,
        };
        let Configs { broker: b, server: s, connect } = configs(&args).unwrap();
        // The worker's keys: the file's, then --override's.
        let want = [("group.id", "brook-workers"), ("offset.flush.interval.ms", "500")];
        assert_eq!(connect, want.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect::<brook_connect::Config>());
        assert_eq!(b.num_partitions, 5);
        assert_eq!(b.log_dir, dir.path().join("data"));
        assert_eq!(s.listen.port(), 29092);
        assert_eq!(s.connections_max_idle.as_millis(), 1000);
        assert_eq!(s.sasl_users.get("alice").map(String::as_str), Some("secret"));

        let bad = ServerArgs { overrides: vec!["no.such.key=1".into()], ..args.clone() };
        let err = crate::report(&configs(&bad).unwrap_err());
        assert!(err.starts_with("--override no.such.key=1: ") && err.contains("no.such.key\""), "{err}");
        let named = ServerArgs { listen: Some("localhost:0".into()), ..args.clone() };
        assert!(configs(&named).unwrap().server.listen.ip().is_loopback());
        let bad = ServerArgs { listen: Some("nope".into()), ..args.clone() };
        let err = crate::report(&configs(&bad).unwrap_err());
        assert!(err.starts_with("invalid --listen address \"nope\": expected HOST:PORT, e.g. 127.0.0.1:9092"), "{err}");
        let broken = dir.path().join("broken.properties");
        std::fs::write(&broken, "num.partitions=3\noops\n").unwrap();
        let bad = ServerArgs { config: Some(broken.clone()), overrides: vec![], ..args.clone() };
        let err = crate::report(&configs(&bad).unwrap_err());
        assert!(err.starts_with(&format!("{}: invalid config: line 2: expected key=value", broken.display())), "{err}");
        let bad = ServerArgs { config: Some(dir.path().join("missing")), ..args };
        assert!(configs(&bad).unwrap_err().to_string().starts_with("cannot read"));
    }

    #[test]
    fn ksql_auth_and_tls_flags_are_read_before_serving() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            server: ServerArgs,
        }
        let parse = |flags: &[&str]| Cli::try_parse_from(std::iter::once("brook").chain(flags.iter().copied())).map(|c| c.server);
        assert!(parse(&["--ksql-tls-cert", "c.pem"]).unwrap_err().to_string().contains("--ksql-tls-key"));
        assert!(parse(&["--ksql-auth-roles", "admin"]).unwrap_err().to_string().contains("--ksql-auth"));

        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, "fred: letmein,admin\nbroken line\n").unwrap();
        let users = users.to_str().unwrap();
        let err = crate::report(&ksql_config(&parse(&["--ksql-auth", users]).unwrap(), "a".into()).unwrap_err());
        assert!(err.starts_with("--ksql-auth: ") && err.contains("users:2: expected `user: password[,role ...]`"), "{err}");
        std::fs::write(dir.path().join("users"), "# nobody\n").unwrap();
        let err = ksql_config(&parse(&["--ksql-auth", users]).unwrap(), "a".into()).unwrap_err().to_string();
        assert!(err.contains("defines no user"), "{err}");
        std::fs::write(dir.path().join("users"), "fred: letmein,admin\n").unwrap();
        let config = ksql_config(&parse(&["--ksql-auth", users, "--ksql-auth-roles", "admin,dev"]).unwrap(), "a".into()).unwrap();
        assert_eq!(config.auth.unwrap().len(), 1);

        let missing = dir.path().join("missing.pem");
        let missing = missing.to_str().unwrap();
        let err = crate::report(&ksql_config(&parse(&["--ksql-tls-cert", missing, "--ksql-tls-key", missing]).unwrap(), "a".into()).unwrap_err());
        assert!(err.starts_with("--ksql-tls-cert/--ksql-tls-key: ") && err.contains("missing.pem"), "{err}");
        assert!(ksql_config(&parse(&[]).unwrap(), "a".into()).unwrap().tls.is_none());
    }

    #[test]
    fn schema_registry_flags() {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Cli {
            #[command(flatten)]
            server: ServerArgs,
        }
        let parse = |flags: &[&str]| Cli::try_parse_from(std::iter::once("brook").chain(flags.iter().copied())).map(|c| c.server);
        let addr = |flags: &[&str], embedded| schema_registry_addr(&parse(flags).unwrap(), embedded).unwrap().map(|a| a.to_string());
        assert_eq!(addr(&[], true).as_deref(), Some("127.0.0.1:8081"));
        assert_eq!(addr(&[], false), None, "over --bootstrap-server only when asked");
        assert_eq!(addr(&["--schema-registry-listen", "127.0.0.1:21601"], false).as_deref(), Some("127.0.0.1:21601"));
        assert_eq!(addr(&["--no-schema-registry"], true), None);
        assert_eq!(addr(&["--schema-registry-url", "http://sr:8081"], true), None);
        assert!(parse(&["--no-schema-registry", "--schema-registry-listen", "127.0.0.1:1"]).is_err());
        assert!(parse(&["--schema-registry-url", "http://x", "--schema-registry-listen", "127.0.0.1:1"]).is_err());
        let err = crate::report(&schema_registry_addr(&parse(&["--schema-registry-listen", "nope"]).unwrap(), true).unwrap_err());
        assert!(err.starts_with("--schema-registry-listen: invalid --listen address"), "{err}");
    }
}
