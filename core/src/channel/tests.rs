use super::*;

fn name(text: &str) -> ChannelName {
    ChannelName::new(text).unwrap()
}

fn pattern(text: &str) -> ChannelPattern {
    ChannelPattern::new(text).unwrap()
}

#[test]
fn names_are_checked_for_length_characters_and_empty_segments() {
    for good in ["a", "sensors/lidar/front", "a-b_c.d/E9", &"x".repeat(64)] {
        assert_eq!(name(good).as_str(), good);
    }
    let long = vec!["abcdefghijklmno"; 16].join("/");
    assert_eq!(long.len(), 255);
    name(&long);
    let too_many = vec!["a"; 17].join("/");
    for bad in [
        "",
        "/a",
        "a/",
        "a//b",
        "a b",
        "a/*",
        "*",
        "é",
        "a\u{0}",
        &"x".repeat(65),
        &format!("{long}x"),
        &too_many,
    ] {
        let err = ChannelName::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidChannelName, "{bad:?}");
    }
}

#[test]
fn patterns_parse_and_print_back() {
    for text in ["a/b", "a/*", "a/b/**", "*", "**"] {
        assert_eq!(pattern(text).to_string(), text);
    }
    assert_eq!(pattern("a/b/**").kind(), PatternKind::AnyDepth);
    assert_eq!(pattern("a/b/**").prefix(), "a/b");
    for bad in [
        "", "/*", "/**", "a/*/b", "a/**/b", "a*", "a/b*", "***", "a//*", "*/a",
    ] {
        let err = ChannelPattern::new(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidChannelName, "{bad:?}");
    }
}

#[test]
fn patterns_match_what_the_table_says() {
    let cases = [
        ("sensors/lidar", "sensors/lidar", true),
        ("sensors/lidar", "sensors/lidar/front", false),
        ("sensors/*", "sensors/lidar", true),
        ("sensors/*", "sensors/lidar/front", false),
        ("sensors/*", "sensors", false),
        ("sensors/*", "sensorsx/lidar", false),
        ("sensors/**", "sensors/lidar/front", true),
        ("sensors/**", "sensors", false),
        ("sensors/**", "sensorsx/a", false),
        ("*", "sensors", true),
        ("*", "sensors/lidar", false),
        ("**", "a/b/c", true),
    ];
    for (p, n, expected) in cases {
        assert_eq!(pattern(p).matches(&name(n)), expected, "{p} vs {n}");
    }
}

#[test]
fn containment_is_a_chain_from_the_pattern_to_everything() {
    let texts = |p: &ChannelPattern| -> Vec<String> {
        p.containing().iter().map(ToString::to_string).collect()
    };
    assert_eq!(
        texts(&pattern("a/b/c")),
        ["a/b/c", "a/b/*", "a/b/**", "a/**", "**"]
    );
    assert_eq!(texts(&pattern("a/b/*")), ["a/b/*", "a/b/**", "a/**", "**"]);
    assert_eq!(texts(&pattern("a/b/**")), ["a/b/**", "a/**", "**"]);
    assert_eq!(texts(&pattern("a")), ["a", "*", "**"]);
    assert_eq!(texts(&pattern("*")), ["*", "**"]);
    assert_eq!(texts(&pattern("**")), ["**"]);
    assert!(pattern("a/**").contains(&pattern("a/b/*")));
    assert!(pattern("a/*").contains(&pattern("a/b")));
    assert!(!pattern("a/*").contains(&pattern("a/b/c")));
    assert!(!pattern("a/b").contains(&pattern("a/*")));
    assert!(!pattern("a/*").contains(&pattern("a/**")));
    // Every pattern that matches a name contains the ones before it.
    let n = name("x/y/z");
    let matching = n.matching_patterns();
    for (i, general) in matching.iter().enumerate() {
        assert!(general.matches(&n), "{general}");
        for specific in &matching[..i] {
            assert!(general.contains(specific), "{general} ⊇ {specific}");
        }
    }
}

#[test]
fn hashes_are_stable_and_tell_names_and_patterns_apart() {
    assert_ne!(name("a/b").hash(), name("a/c").hash());
    assert_eq!(name("a/b").hash(), name("a/b").hash());
    assert_ne!(pattern("a/*").digest(), pattern("a/**").digest());
    assert_ne!(pattern("a/*").digest(), pattern("a").digest());
    assert_ne!(pattern("*").digest(), pattern("**").digest());
}
