// figment's Jail closures return its (large) error type; that is its API, not ours.
#![allow(clippy::result_large_err)]

use figment::Jail;

use super::*;
use crate::{keys::parse_signing_keys, seal::parse_sealing_keys};

#[test]
fn defaults_describe_the_embedded_stack() {
    let settings = Settings::default();
    assert_eq!(settings.gateway.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(settings.database_url("registry"), "sqlite://./data/registry.db?mode=rwc");
    assert!(settings.redis_url().is_none());
    assert!(settings.validate().is_empty());
}

#[test]
fn file_then_env_then_conventional_urls() {
    Jail::expect_with(|jail| {
        jail.create_file("roster.toml", "[gateway]\nlisten = \"0.0.0.0:9000\"\n[redis]\nkey_prefix = \"file\"\n")?;
        jail.set_env("ROSTER_REDIS__KEY_PREFIX", "env");
        jail.set_env("DATABASE_URL", "postgres://u@h/db");
        jail.set_env("REDIS_URL", "redis://127.0.0.1:6379");
        let settings = Settings::load(Some(Path::new("roster.toml"))).expect("valid");
        assert_eq!(settings.gateway.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.redis.key_prefix, "env");
        assert_eq!(settings.database_url("token"), "postgres://u@h/db");
        assert_eq!(settings.redis_url(), Some("redis://127.0.0.1:6379"));
        Ok(())
    });
}

#[test]
fn every_problem_is_reported_at_once() {
    Jail::expect_with(|jail| {
        jail.set_env("ROSTER_GATEWAY__LISTEN", "not an address");
        jail.set_env("ROSTER_DATABASE__URL", "mysql://nope");
        jail.set_env("ROSTER_SHUTDOWN__DRAIN_TIMEOUT_SECS", "soon");
        jail.set_env("ROSTER_TELEMETRY__FILTER", "[[[");
        jail.set_env("ROSTER_NOPE", "1");
        let err = Settings::load(None).expect_err("invalid");
        let text = err.to_string().to_lowercase();
        assert_eq!(err.problems.len(), 5, "{text}");
        for needle in ["listen", "database.url", "drain_timeout_secs", "telemetry.filter", "nope"] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
        Ok(())
    });
}

#[test]
fn signing_keys_parse_in_order_and_refuse_weak_secrets() {
    let strong = "ab".repeat(32);
    let keys = parse_signing_keys(&format!("new:{strong}, old:{strong}")).expect("valid");
    assert_eq!(keys.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["new", "old"]);
    assert_eq!(keys[0].1.len(), 32);
    assert!(parse_signing_keys("k:abcd").is_err(), "too short");
    assert!(parse_signing_keys(&format!("k:{strong},k:{strong}")).is_err(), "duplicate kid");
    assert!(parse_signing_keys("nokey").is_err());
    assert!(parse_signing_keys("").is_err());
}

#[test]
fn every_section_is_settable_from_the_environment() {
    Jail::expect_with(|jail| {
        let key = "cd".repeat(32);
        jail.set_env("ROSTER_SESSION__REDIS_FAILURE", "open");
        jail.set_env("ROSTER_METRICS__ENABLED", "false");
        jail.set_env("ROSTER_SECRETS__SEALING_KEYS", format!("k2:{key},k1:{key}"));
        jail.set_env("ROSTER_REAPER__INTERVAL_SECS", "5");
        let settings = Settings::load(None).expect("valid");
        assert_eq!(settings.session.redis_failure, RedisFailurePolicy::Open);
        assert!(!settings.metrics.enabled);
        assert_eq!(settings.reaper.interval_secs, 5);
        let keys = parse_sealing_keys(settings.secrets.sealing_keys.as_ref().unwrap().expose_secret()).unwrap();
        assert_eq!(keys[0].0, "k2");
        Ok(())
    });
}

/// Every `ROSTER_*` variable the compose file and the Kubernetes manifests set names a
/// setting that exists (an unknown one stops the service at start).
#[test]
fn deploy_files_set_only_known_settings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = vec![root.join("docker-compose.yml")];
    for dir in ["deploy/k8s/base", "deploy/k8s/overlays/dev", "deploy/k8s/overlays/prod"] {
        for entry in std::fs::read_dir(root.join(dir)).expect("deploy dir") {
            files.push(entry.expect("entry").path());
        }
    }
    let mut names = std::collections::BTreeSet::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "yml" || e == "yaml")) {
        let text = std::fs::read_to_string(file).expect("readable");
        for (at, _) in text.match_indices("ROSTER_") {
            let name: String =
                text[at..].chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
            names.insert(name);
        }
    }
    assert!(names.contains("ROSTER_METRICS__LISTEN") && names.contains("ROSTER_SESSION__SIGNING_KEYS"), "{names:?}");
    Jail::expect_with(|jail| {
        for name in &names {
            jail.set_env(name, "1");
        }
        let problems = Settings::load(None).err().map(|e| e.problems).unwrap_or_default();
        let unknown: Vec<_> = problems.iter().filter(|p| p.contains("unknown")).collect();
        assert!(unknown.is_empty(), "{unknown:?}");
        Ok(())
    });
}

#[test]
fn sealing_keys_are_exactly_32_bytes() {
    assert!(parse_sealing_keys(&"ab".repeat(32)).is_err(), "no kid");
    assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(32))).is_ok());
    assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(33))).is_err());
    assert!(parse_sealing_keys(&format!("k:{}", "ab".repeat(16))).is_err());
}

#[test]
fn a_missing_config_file_is_an_error() {
    Jail::expect_with(|_| {
        assert!(Settings::load(Some(Path::new("absent.toml"))).is_err());
        Ok(())
    });
}
