//! The `refresh` scenario's conversation: each worker holds its own refresh token, spends it in a
//! refresh-token grant and keeps the new one the answer carries (rotation), so every request
//! depends on the previous answer. A worker whose token stops working (an answer without a new
//! token, or a refusal) keeps presenting the last one and counts errors from then on.

use serde_json::Value;
use url::form_urlencoded;

use crate::load::{Answer, Conversation, RequestTemplate};

pub struct RefreshConversation {
    /// POST {issuer}/token with the client's authentication; the body is rewritten each time.
    template: RequestTemplate,
    token: String,
}

impl RefreshConversation {
    /// `template` is the token endpoint POST with the client's authentication, any body.
    pub fn new(template: RequestTemplate, token: String) -> RefreshConversation {
        let mut c = RefreshConversation { template, token };
        c.template.body = grant_body(&c.token).into();
        c
    }
}

/// The form body of a refresh-token grant that spends `token`.
pub fn grant_body(token: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", token)
        .finish()
}

/// The new refresh token of a successful grant's answer.
pub fn rotated_token(answer: &Answer) -> Result<String, String> {
    if !answer.status.is_success() {
        return Err(answer.describe());
    }
    let v: Value = serde_json::from_slice(&answer.body)
        .map_err(|_| format!("the refresh grant answered {} without JSON", answer.status))?;
    v["refresh_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("the refresh grant answered without a new refresh token: {v}"))
}

impl RefreshConversation {
    /// The token this conversation would spend next.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The token endpoint POST with the client's authentication (its body spends `token`).
    pub fn template(&self) -> &RequestTemplate {
        &self.template
    }
}

impl Conversation for RefreshConversation {
    fn next_request(&mut self) -> &RequestTemplate {
        &self.template
    }

    fn answered(&mut self, answer: &Answer) -> Result<(), String> {
        let token = rotated_token(answer)?;
        self.template.body = grant_body(&token).into();
        self.token = token;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use hyper::{HeaderMap, StatusCode};

    use super::*;

    fn answer(status: u16, body: &'static str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn each_request_spends_the_token_of_the_previous_answer() {
        let mut c = RefreshConversation::new(
            RequestTemplate::post_form("/t/bench/token", String::new()),
            "first+/=".into(),
        );
        assert_eq!(
            c.next_request().body,
            "grant_type=refresh_token&refresh_token=first%2B%2F%3D"
        );
        c.answered(&answer(
            200,
            r#"{"access_token":"a","refresh_token":"second","token_type":"Bearer"}"#,
        ))
        .expect("a rotated token");
        assert_eq!(
            c.next_request().body,
            "grant_type=refresh_token&refresh_token=second"
        );
    }

    #[test]
    fn a_refusal_or_a_missing_token_is_an_error_and_keeps_the_old_token() {
        let mut c = RefreshConversation::new(
            RequestTemplate::post_form("/t/bench/token", String::new()),
            "old".into(),
        );
        let e = c
            .answered(&answer(400, r#"{"error":"invalid_grant"}"#))
            .unwrap_err();
        assert!(
            e.starts_with("HTTP 400") && e.contains("invalid_grant"),
            "{e}"
        );
        let e = c
            .answered(&answer(200, r#"{"access_token":"a"}"#))
            .unwrap_err();
        assert!(e.contains("without a new refresh token"), "{e}");
        assert!(c.answered(&answer(200, "<html>")).is_err());
        assert_eq!(
            c.next_request().body,
            "grant_type=refresh_token&refresh_token=old"
        );
    }
}
