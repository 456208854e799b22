//! Keeps secrets out of logs: presigned URLs (wait-condition handles are
//! presigned S3 URLs) lose their query strings, credentials in URLs lose
//! their password.

/// Query parameters that make a URL a bearer credential.
const SIGNED: &[&str] = &[
    "X-Amz-Signature",
    "X-Amz-Credential",
    "Signature=",
    "X-Amz-Security-Token",
];

/// Returns `text` with secrets in URLs masked.
pub fn redact(text: &str) -> String {
    if !text.contains("://") {
        return text.to_string();
    }
    text.split_inclusive(char::is_whitespace)
        .map(redact_word)
        .collect()
}

fn redact_word(word: &str) -> String {
    let trimmed = word.trim_end();
    let tail = &word[trimmed.len()..];
    let Some(scheme_end) = trimmed.find("://") else {
        return word.to_string();
    };
    let mut url = trimmed.to_string();
    if SIGNED.iter().any(|s| url.contains(s))
        && let Some(q) = url.find('?')
    {
        url.truncate(q);
        url.push_str("?<redacted>");
    }
    // user:password@host
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find('/')
        .map_or(url.len(), |i| authority_start + i);
    if let Some(at) = url[authority_start..authority_end].rfind('@') {
        let userinfo = &url[authority_start..authority_start + at];
        if let Some(colon) = userinfo.find(':') {
            let user = userinfo[..colon].to_string();
            url.replace_range(
                authority_start..authority_start + at,
                &format!("{user}:<redacted>"),
            );
        }
    }
    url + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_query_is_removed() {
        let r = redact(
            "PUT to https://b.s3.amazonaws.com/k?X-Amz-Algorithm=x&X-Amz-Signature=abc failed",
        );
        assert_eq!(r, "PUT to https://b.s3.amazonaws.com/k?<redacted> failed");
    }

    #[test]
    fn password_in_url_is_masked() {
        assert_eq!(
            redact("es http://admin:s3cret@localhost:9200/x"),
            "es http://admin:<redacted>@localhost:9200/x"
        );
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(
            redact("Resource creation cancelled"),
            "Resource creation cancelled"
        );
        assert_eq!(
            redact("see http://example.com/a?b=c"),
            "see http://example.com/a?b=c"
        );
    }
}
