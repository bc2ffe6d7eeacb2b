//! The router's pure parts: configuration (JSON and LiteLLM's YAML), and the plan and state
//! with the time passed in — weights, cooldowns, minute limits, tiers and strategies.

use std::time::{Duration, Instant, SystemTime};

use onellm_core::catalog::Catalog;
use onellm_core::router::{
    Deployment, Outcome, RouterConfig, RouterSettings, RouterState, RoutingStrategy,
};
use onellm_core::ErrorKind;

/// Spread-out seeds (SplitMix64 of a counter), as the engine's seed sequence gives.
fn seed(i: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn config(deployments: Vec<Deployment>, settings: RouterSettings) -> RouterConfig {
    RouterConfig {
        deployments,
        settings,
        ignored_keys: Vec::new(),
        cache: None,
    }
    .checked()
    .unwrap()
}

/// A wall clock at the start of a minute.
fn minute_start() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(60 * 29_000_000)
}

#[test]
fn weighted_shuffle_follows_the_weights() {
    let config = config(
        vec![
            Deployment {
                weight: Some(3.0),
                ..Deployment::new("smart", "openai/gpt-4o")
            },
            Deployment {
                weight: Some(1.0),
                ..Deployment::new("smart", "azure/gpt-4o")
            },
        ],
        RouterSettings::default(),
    );
    let state = RouterState::new(&config);
    let catalog = Catalog::empty();
    let now = Instant::now();
    let heavy = (0..4000u64)
        .filter(|i| {
            let plan = state
                .plan(&config, &catalog, "smart", now, minute_start(), seed(*i))
                .unwrap();
            assert_eq!(plan.len(), 2, "both, for retries");
            plan[0] == 0
        })
        .count();
    assert!(
        (2800..3200).contains(&heavy),
        "{heavy} of 4000 on the 3:1 deployment"
    );
}

#[test]
fn failures_past_allowed_fails_cool_a_deployment_down() {
    let settings = RouterSettings {
        allowed_fails: 1,
        cooldown_time: Duration::from_secs(60),
        strategy: RoutingStrategy::LeastBusy,
        ..RouterSettings::default()
    };
    let config = config(
        vec![
            Deployment::new("g", "openai/a"),
            Deployment::new("g", "openai/b"),
        ],
        settings,
    );
    let catalog = Catalog::empty();
    let mut state = RouterState::new(&config);
    let now = Instant::now();
    let wall = minute_start();
    let failed = Outcome::Failed {
        kind: ErrorKind::ServiceUnavailable,
        retry_after: None,
    };
    for _ in 0..2 {
        assert_eq!(
            state.plan(&config, &catalog, "g", now, wall, 1).unwrap()[0],
            0
        );
        state.started(0, wall);
        state.finished(&config, 0, failed, now, wall);
    }
    // Two failures > allowed_fails 1: left out for 60 s.
    assert_eq!(
        state.plan(&config, &catalog, "g", now, wall, 1).unwrap(),
        vec![1]
    );
    assert_eq!(
        state.cooling_down_until(0, now),
        Some(now + Duration::from_secs(60))
    );
    let later = now + Duration::from_secs(61);
    assert_eq!(
        state.plan(&config, &catalog, "g", later, wall, 1).unwrap(),
        vec![0, 1]
    );
    // A request's own fault does not count.
    let mut state = RouterState::new(&config);
    for _ in 0..5 {
        state.finished(
            &config,
            0,
            Outcome::Failed {
                kind: ErrorKind::InvalidRequest,
                retry_after: None,
            },
            now,
            wall,
        );
    }
    assert_eq!(state.cooling_down_until(0, now), None);
}

#[test]
fn retry_after_cools_down_at_once_for_that_long_and_all_cooling_is_a_typed_error() {
    let config = config(
        vec![Deployment::new("g", "openai/a")],
        RouterSettings::default(),
    );
    let catalog = Catalog::empty();
    let mut state = RouterState::new(&config);
    let now = Instant::now();
    let wall = minute_start();
    state.finished(
        &config,
        0,
        Outcome::Failed {
            kind: ErrorKind::RateLimit,
            retry_after: Some(Duration::from_secs(30)),
        },
        now,
        wall,
    );
    let error = state
        .plan(&config, &catalog, "g", now, wall, 1)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert!(
        error.message().contains("available again in 30.0s"),
        "{error}"
    );
    assert!(state
        .plan(
            &config,
            &catalog,
            "g",
            now + Duration::from_secs(31),
            wall,
            1
        )
        .is_ok());
    // Disabled cooldowns ignore it all.
    let settings = RouterSettings {
        disable_cooldowns: true,
        ..RouterSettings::default()
    };
    let relaxed = self::config(vec![Deployment::new("g", "openai/a")], settings);
    let mut state = RouterState::new(&relaxed);
    state.finished(
        &relaxed,
        0,
        Outcome::Failed {
            kind: ErrorKind::RateLimit,
            retry_after: Some(Duration::from_secs(30)),
        },
        now,
        wall,
    );
    assert!(state.plan(&relaxed, &catalog, "g", now, wall, 1).is_ok());
}

#[test]
fn rpm_tpm_and_parallel_limits_hold_within_the_minute() {
    let config = config(
        vec![
            Deployment {
                rpm: Some(3),
                order: Some(1),
                ..Deployment::new("g", "openai/limited")
            },
            Deployment {
                tpm: Some(1000),
                order: Some(2),
                ..Deployment::new("g", "openai/tokens")
            },
            Deployment {
                max_parallel_requests: Some(1),
                order: Some(3),
                ..Deployment::new("g", "openai/one")
            },
        ],
        RouterSettings::default(),
    );
    let catalog = Catalog::empty();
    let mut state = RouterState::new(&config);
    let now = Instant::now();
    let wall = minute_start();
    let mut first_picks = Vec::new();
    for _ in 0..6 {
        let plan = state.plan(&config, &catalog, "g", now, wall, 1).unwrap();
        first_picks.push(plan[0]);
        state.started(plan[0], wall);
        let tokens = if plan[0] == 1 { 600 } else { 10 };
        state.finished(
            &config,
            plan[0],
            Outcome::Answered {
                latency: Duration::from_millis(5),
                tokens,
            },
            now,
            wall,
        );
    }
    // Order 1 until its 3 requests, then order 2 until 1,000 tokens (two calls of 600), then 3.
    assert_eq!(first_picks, vec![0, 0, 0, 1, 1, 2]);
    // In flight at its limit of one: left out.
    state.started(2, wall);
    let error = state
        .plan(&config, &catalog, "g", now, wall, 1)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    // The next minute, the counters start again.
    let next = wall + Duration::from_secs(60);
    assert_eq!(
        state.plan(&config, &catalog, "g", now, next, 1).unwrap(),
        vec![0, 1]
    );
}

#[test]
fn strategies_order_a_tier() {
    let deployments = || {
        vec![
            Deployment::new("g", "openai/gpt-4o"),
            Deployment::new("g", "openai/gpt-4o-mini"),
            Deployment {
                input_cost_per_token: Some(1e-9),
                output_cost_per_token: Some(1e-9),
                ..Deployment::new("g", "openai/my-own")
            },
        ]
    };
    let catalog = Catalog::builtin();
    let now = Instant::now();
    let wall = minute_start();
    let cheap = config(
        deployments(),
        RouterSettings {
            strategy: RoutingStrategy::CostBased,
            ..RouterSettings::default()
        },
    );
    let state = RouterState::new(&cheap);
    assert_eq!(
        state.plan(&cheap, &catalog, "g", now, wall, 1).unwrap(),
        vec![2, 1, 0]
    );

    let busy = config(
        deployments(),
        RouterSettings {
            strategy: RoutingStrategy::LeastBusy,
            ..RouterSettings::default()
        },
    );
    let mut state = RouterState::new(&busy);
    state.started(0, wall);
    state.started(1, wall);
    state.started(1, wall);
    assert_eq!(
        state.plan(&busy, &catalog, "g", now, wall, 1).unwrap(),
        vec![2, 0, 1]
    );

    let fast = config(
        deployments(),
        RouterSettings {
            strategy: RoutingStrategy::LatencyBased,
            ..RouterSettings::default()
        },
    );
    let mut state = RouterState::new(&fast);
    for (index, millis) in [(0, 300), (1, 100), (2, 200)] {
        state.started(index, wall);
        state.finished(
            &fast,
            index,
            Outcome::Answered {
                latency: Duration::from_millis(millis),
                tokens: 1,
            },
            now,
            wall,
        );
    }
    assert_eq!(
        state.plan(&fast, &catalog, "g", now, wall, 1).unwrap(),
        vec![1, 2, 0]
    );

    let error = state
        .plan(&fast, &catalog, "nope", now, wall, 1)
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotFound);
    assert!(error.message().contains("\"nope\""), "{error}");
}

#[test]
fn configuration_from_json_reads_litellm_keys() {
    let json = serde_json::json!({
        "model_list": [
            {"model_name": "smart", "litellm_params": {"model": "azure/gpt-4o", "api_key": "os.environ/AZ_KEY",
                "api_base": "https://east.example", "api_version": "2024-10-21", "rpm": 60, "weight": 2,
                "some_future_key": 1}, "model_info": {"id": "east"}},
            {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "tpm": "100000", "order": 2}}
        ],
        "router_settings": {"routing_strategy": "usage-based-routing-v2", "allowed_fails": 1, "cooldown_time": 30,
            "fallbacks": [{"smart": ["openai/gpt-4o-mini"]}], "redis_host": "127.0.0.1", "redis_port": 6390,
            "redis_password": "hunter2", "enable_pre_call_checks": true},
        "litellm_settings": {"num_retries": 2, "request_timeout": 45},
        "general_settings": {}
    });
    let env = |name: &str| (name == "AZ_KEY").then(|| "az-secret".to_owned());
    let config = RouterConfig::from_json(&json, &env).unwrap();
    assert_eq!(config.deployments.len(), 2);
    let east = &config.deployments[0];
    assert_eq!(
        (east.id.as_str(), east.rpm, east.weight),
        ("east", Some(60), Some(2.0))
    );
    assert_eq!(config.deployments[1].id, "smart#1");
    assert_eq!(config.deployments[1].tpm, Some(100_000));
    let settings = &config.settings;
    assert_eq!(settings.strategy, RoutingStrategy::UsageBased);
    assert_eq!(
        (settings.allowed_fails, settings.cooldown_time),
        (1, Duration::from_secs(30))
    );
    assert_eq!(
        (settings.num_retries, settings.timeout),
        (Some(2), Some(Duration::from_secs(45)))
    );
    assert_eq!(
        settings.fallbacks,
        vec![("smart".to_owned(), vec!["openai/gpt-4o-mini".to_owned()])]
    );
    assert_eq!(
        settings.redis_url.as_ref().unwrap().expose(),
        "redis://:hunter2@127.0.0.1:6390"
    );
    let mut ignored = config.ignored_keys.clone();
    ignored.sort();
    assert_eq!(
        ignored,
        vec![
            "general_settings",
            "litellm_params.some_future_key",
            "router_settings.enable_pre_call_checks"
        ]
    );
    // Secrets stay out of Debug.
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("az-secret") && !shown.contains("hunter2"),
        "{shown}"
    );

    // Errors say what is wrong.
    let missing_env = RouterConfig::from_json(&json, &no_env).unwrap_err();
    assert!(
        missing_env.message().contains("AZ_KEY, which is not set"),
        "{missing_env}"
    );
    let bad_fallback = serde_json::json!({"model_list": [{"model_name": "a", "litellm_params": {"model": "openai/x"}}],
        "router_settings": {"fallbacks": [{"a": ["nowhere"]}]}});
    let error = RouterConfig::from_json(&bad_fallback, &no_env).unwrap_err();
    assert!(error.message().contains("\"nowhere\""), "{error}");
}

#[cfg(feature = "yaml")]
#[test]
fn yaml_errors_name_the_file_and_line() {
    let good = "model_list:\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      rpm: 3\nrouter_settings:\n  routing_strategy: simple-shuffle\n";
    let config = RouterConfig::from_yaml(good, "proxy.yaml", &no_env).unwrap();
    assert_eq!(config.deployments[0].rpm, Some(3));
    for (text, line, what) in [
        ("model_list:\n  - model_name: smart\n    litellm_params:\n      model: openai/gpt-4o\n      rpm: many\n", 5, "rpm must be a number"),
        ("model_list:\n  - model_name: smart\n    litellm_params:\n      model: gpt-4o\n", 4, "provider"),
        ("router_settings:\n  routing_strategy: fastest\n", 2, "unknown routing_strategy \"fastest\""),
        // Where the parser notices: the end of the input.
        ("model_list:\n  - model_name: [unclosed\n", 3, "not valid YAML"),
        ("model_list: 3\n", 1, "model_list must be a list"),
    ] {
        let error = RouterConfig::from_yaml(text, "proxy.yaml", &no_env).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Configuration);
        let message = error.message();
        assert!(message.starts_with(&format!("proxy.yaml:{line}: ")), "{message}");
        assert!(message.contains(what), "{message}");
    }
    assert!(RouterConfig::from_yaml("", "empty.yaml", &no_env).is_err());
}
