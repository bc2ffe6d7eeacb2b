//! Aliases: the dated snapshot ids providers return, mapped to their undated entries.

/// `id` without a trailing date — `-YYYY-MM-DD`, `-YYYYMMDD` or `@YYYYMMDD` (a year of
/// the 2000s) — or `None` when it has none (or would be left empty).
///
/// `gpt-4o-2024-08-06` → `gpt-4o`; `anthropic/claude-3-5-sonnet-20241022` →
/// `anthropic/claude-3-5-sonnet`; `claude-3-5-sonnet@20240620` → `claude-3-5-sonnet`.
pub(super) fn undated(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let len = bytes.len();
    // -YYYY-MM-DD
    if len > 11
        && bytes.get(len - 11) == Some(&b'-')
        && digits(len - 10..len - 6)
        && bytes.get(len - 6) == Some(&b'-')
        && digits(len - 5..len - 3)
        && bytes.get(len - 3) == Some(&b'-')
        && digits(len - 2..len)
        && bytes.get(len - 10..len - 8) == Some(b"20")
    {
        return id.get(..len - 11).map(str::to_owned);
    }
    // -YYYYMMDD or @YYYYMMDD
    if len > 9
        && matches!(bytes.get(len - 9), Some(b'-' | b'@'))
        && digits(len - 8..len)
        && bytes.get(len - 8..len - 6) == Some(b"20")
    {
        return id.get(..len - 9).map(str::to_owned);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::undated;

    #[test]
    fn strips_the_date_suffixes_providers_use() {
        assert_eq!(undated("gpt-4o-2024-08-06").as_deref(), Some("gpt-4o"));
        assert_eq!(
            undated("anthropic/claude-3-5-sonnet-20241022").as_deref(),
            Some("anthropic/claude-3-5-sonnet")
        );
        assert_eq!(
            undated("claude-3-5-sonnet@20240620").as_deref(),
            Some("claude-3-5-sonnet")
        );
        for kept in [
            "gpt-4o",
            "gpt-4-0613",
            "2024-08-06",
            "-20240620",
            "llama-3.1-405b",
            "x-1999-08-06",
            "é-2024-08-0é",
        ] {
            assert_eq!(undated(kept), None, "{kept}");
        }
    }
}
