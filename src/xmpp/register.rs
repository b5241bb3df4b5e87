//! Creating an account on the server (XEP-0077 in-band registration), on
//! the secured stream just before the first login, so the same TLS checks
//! (and the same route, Tor included) protect the new password.
//!
//! Only a user name and a password are ever sent. A server that wants more
//! (an email address, a CAPTCHA) is told apart and the user is sent to its
//! web page, rather than Sotto half-filling a form.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use thiserror::Error;
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio_xmpp::Stanza;
use tokio_xmpp::jid::Jid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::parsers::data_forms::{DataForm, DataFormType, Field, FieldType};
use tokio_xmpp::parsers::ibr::{FieldsQuery, FormQuery, LegacyQuery};
use tokio_xmpp::parsers::iq::Iq;
use tokio_xmpp::parsers::ns;
use tokio_xmpp::parsers::stanza_error::{DefinedCondition, StanzaError};
use tokio_xmpp::parsers::stream_features::StreamFeatures;
use tokio_xmpp::xmlstream::{XmppStream, XmppStreamElement};

const DATA_FORMS: &str = "jabber:x:data";
const OOB: &str = "jabber:x:oob";

/// How long the server may take to answer each registration step.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why the account could not be created, in the user's terms.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RegisterError {
    #[error(
        "{domain} does not let apps create accounts; create one on its web site (or ask its admin), then sign in"
    )]
    NotOffered { domain: String },
    #[error("{jid} already exists on the server: pick another name, or sign in if it is yours")]
    Taken { jid: String },
    #[error(
        "{domain} asks for more than a name and a password ({fields}); create the account {}, then sign in",
        where_to(.url)
    )]
    MoreRequired {
        domain: String,
        fields: String,
        url: Option<String>,
    },
    #[error("the server did not accept this name or password{}", detail(.0))]
    NotAcceptable(Option<String>),
    #[error("the server does not allow creating this account{}", detail(.0))]
    NotAllowed(Option<String>),
    #[error("the server refuses new accounts from here for now{}; try again later", detail(.0))]
    TryLater(Option<String>),
    #[error("the server could not create the account ({condition}{})", detail(.text))]
    Other {
        condition: String,
        text: Option<String>,
    },
    #[error("the server's answer to the registration made no sense: {0}")]
    Protocol(String),
    #[error("the server did not answer the registration in time")]
    Timeout,
}

fn where_to(url: &Option<String>) -> String {
    url.as_deref()
        .map_or_else(|| "on its web site".to_owned(), |u| format!("at {u}"))
}

fn detail(text: &Option<String>) -> String {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| format!(": “{t}”"))
        .unwrap_or_default()
}

/// What the server's registration form asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Plan {
    /// Plain `<username/><password/>` (XEP-0077's original fields).
    Legacy,
    /// Only a data form: submit it with these two fields filled.
    Form { form_type: Option<String> },
}

/// Fields a form may carry that need nothing from the user.
fn harmless(var: &str, type_: Option<&str>) -> bool {
    matches!(var, "username" | "password" | "FORM_TYPE")
        || matches!(type_, Some("hidden" | "fixed"))
}

/// Reads the server's answer to the fields query (the `<query/>`).
fn plan(domain: &str, query: &Element) -> Result<Plan, RegisterError> {
    if !query.is("query", ns::REGISTER) {
        return Err(RegisterError::Protocol("no registration query".into()));
    }
    let url = query
        .get_child("x", OOB)
        .and_then(|x| x.get_child("url", OOB))
        .map(|u| u.text().trim().to_owned())
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let mut extra = Vec::new();
    if let Some(form) = query.get_child("x", DATA_FORMS) {
        let mut form_type = None;
        for field in form.children().filter(|c| c.is("field", DATA_FORMS)) {
            let var = field.attr("var").unwrap_or_default();
            if var == "FORM_TYPE" {
                form_type = field
                    .get_child("value", DATA_FORMS)
                    .map(|v| v.text().trim().to_owned());
            }
            let required = field.get_child("required", DATA_FORMS).is_some();
            if required && !harmless(var, field.attr("type")) {
                extra.push(
                    field
                        .attr("label")
                        .filter(|l| !l.trim().is_empty())
                        .unwrap_or(if var.is_empty() { "?" } else { var })
                        .to_owned(),
                );
            }
        }
        if extra.is_empty() {
            // A form is the richer description: when both are given, the
            // legacy fields must say the same or the server is confused.
            return Ok(if query.get_child("username", ns::REGISTER).is_some() {
                Plan::Legacy
            } else {
                Plan::Form { form_type }
            });
        }
    } else {
        // Legacy: every listed field is required.
        for child in query.children() {
            let name = child.name();
            if child.ns() == ns::REGISTER
                && !matches!(
                    name,
                    "username" | "password" | "instructions" | "registered"
                )
            {
                extra.push(name.to_owned());
            }
        }
        if extra.is_empty() {
            if query.get_child("username", ns::REGISTER).is_none() {
                return Err(match url {
                    Some(url) => RegisterError::MoreRequired {
                        domain: domain.to_owned(),
                        fields: "its own sign-up page".into(),
                        url: Some(url),
                    },
                    None => RegisterError::Protocol("it asked for no user name".into()),
                });
            }
            return Ok(Plan::Legacy);
        }
    }
    Err(RegisterError::MoreRequired {
        domain: domain.to_owned(),
        fields: extra.join(", "),
        url,
    })
}

/// The registration to send, with xmpp-parsers' XEP-0077 payloads.
fn submission(plan: &Plan, username: &str, password: &str) -> Element {
    match plan {
        Plan::Legacy => LegacyQuery {
            username: Some(username.to_owned()),
            password: Some(password.to_owned()),
            ..LegacyQuery::default()
        }
        .into(),
        Plan::Form { form_type } => {
            let mut fields = Vec::new();
            if let Some(t) = form_type {
                fields.push(Field::new("FORM_TYPE", FieldType::Hidden).with_value(t));
            }
            fields.push(Field::text_single("username", username));
            fields.push(Field::new("password", FieldType::TextPrivate).with_value(password));
            FormQuery {
                instructions: None,
                form: DataForm {
                    type_: DataFormType::Submit,
                    title: None,
                    instructions: None,
                    fields,
                },
            }
            .into()
        }
    }
}

fn refusal(jid: &str, domain: &str, error: &StanzaError) -> RegisterError {
    let text = error.texts.values().next().cloned();
    match error.defined_condition {
        DefinedCondition::Conflict => RegisterError::Taken {
            jid: jid.to_owned(),
        },
        DefinedCondition::NotAcceptable | DefinedCondition::BadRequest => {
            RegisterError::NotAcceptable(text)
        }
        DefinedCondition::NotAllowed
        | DefinedCondition::Forbidden
        | DefinedCondition::FeatureNotImplemented
        | DefinedCondition::ServiceUnavailable => {
            if text.is_none() {
                RegisterError::NotOffered {
                    domain: domain.to_owned(),
                }
            } else {
                RegisterError::NotAllowed(text)
            }
        }
        DefinedCondition::PolicyViolation | DefinedCondition::ResourceConstraint => {
            RegisterError::TryLater(text)
        }
        ref other => RegisterError::Other {
            condition: format!("{other:?}"),
            text,
        },
    }
}

/// Creates `username@domain` with `password` on a stream that is secured
/// but not yet logged in; on success the same stream goes on to log in.
pub async fn create_account<S>(
    stream: &mut XmppStream<S>,
    features: &StreamFeatures,
    domain: &str,
    username: &str,
    password: &str,
) -> Result<(), RegisterError>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    // Prosody and ejabberd advertise registration as a stream feature
    // whenever it is on; asking anyway would only earn an error.
    if !features.in_band_registration {
        return Err(RegisterError::NotOffered {
            domain: domain.to_owned(),
        });
    }
    let jid = format!("{username}@{domain}");
    let to: Jid = domain
        .parse()
        .map_err(|_| RegisterError::Protocol("the domain is not a valid address".into()))?;
    let ask = Iq::from_get("reg-fields", FieldsQuery).with_to(to.clone());
    let form = exchange(stream, ask).await?;
    let form = match form {
        Ok(Some(query)) => query,
        Ok(None) => return Err(RegisterError::Protocol("the form was empty".into())),
        Err(error) => return Err(refusal(&jid, domain, &error)),
    };
    let plan = plan(domain, &form)?;
    let set = Iq::Set {
        from: None,
        to: Some(to),
        id: "reg-submit".into(),
        payload: submission(&plan, username, password),
    };
    match exchange(stream, set).await? {
        Ok(_) => {
            tracing::info!(account = %jid, "account created on the server");
            Ok(())
        }
        Err(error) => Err(refusal(&jid, domain, &error)),
    }
}

/// Sends one iq and waits for its answer: the result's payload, or the
/// server's stanza error. Anything else on the stream before it is skipped.
async fn exchange<S>(
    stream: &mut XmppStream<S>,
    iq: Iq,
) -> Result<Result<Option<Element>, StanzaError>, RegisterError>
where
    S: AsyncBufRead + AsyncWrite + Unpin,
{
    let id = iq.id().to_owned();
    let io = |e: std::io::Error| RegisterError::Protocol(format!("connection lost: {e}"));
    tokio::time::timeout(STEP_TIMEOUT, async {
        stream
            .send(&XmppStreamElement::Stanza(Stanza::Iq(iq)))
            .await
            .map_err(io)?;
        loop {
            let element = match stream.next().await {
                None => {
                    return Err(RegisterError::Protocol(
                        "the server closed the stream".into(),
                    ));
                }
                Some(Err(e)) => return Err(RegisterError::Protocol(e.to_string())),
                Some(Ok(element)) => element
                    .into_read_error()
                    .map_err(|e| RegisterError::Protocol(e.to_string()))?,
            };
            match element {
                XmppStreamElement::Stanza(Stanza::Iq(Iq::Result {
                    id: answer,
                    payload,
                    ..
                })) if answer == id => return Ok(Ok(payload)),
                XmppStreamElement::Stanza(Stanza::Iq(Iq::Error {
                    id: answer, error, ..
                })) if answer == id => return Ok(Err(error)),
                XmppStreamElement::StreamError(e) => {
                    return Err(RegisterError::Protocol(format!(
                        "the server closed the stream ({e:?})"
                    )));
                }
                other => tracing::debug!(kind = element_kind(&other), "skipped while registering"),
            }
        }
    })
    .await
    .map_err(|_| RegisterError::Timeout)?
}

/// For the log: never the element itself, which may carry the password.
fn element_kind(element: &XmppStreamElement) -> &'static str {
    match element {
        XmppStreamElement::Stanza(Stanza::Iq(_)) => "iq",
        XmppStreamElement::Stanza(Stanza::Message(_)) => "message",
        XmppStreamElement::Stanza(Stanza::Presence(_)) => "presence",
        _ => "nonza",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(xml: &str) -> Element {
        xml.parse().expect("xml")
    }

    #[test]
    fn prosody_style_form_with_legacy_fields_plans_legacy() {
        // What Prosody 0.12 answers: legacy fields plus a form saying the same.
        let q = query(
            "<query xmlns='jabber:iq:register'><instructions>Choose a username and password</instructions>\
             <username/><password/>\
             <x xmlns='jabber:x:data' type='form'><title>Creating a new account</title>\
             <field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>\
             <field var='username' type='text-single' label='Username'><required/></field>\
             <field var='password' type='text-private' label='Password'><required/></field>\
             </x></query>",
        );
        assert_eq!(plan("example.org", &q), Ok(Plan::Legacy));
    }

    #[test]
    fn form_only_is_submitted_as_a_form_with_its_type() {
        let q = query(
            "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'>\
             <field var='FORM_TYPE' type='hidden'><value>jabber:iq:register</value></field>\
             <field var='username'><required/></field><field var='password' type='text-private'><required/></field>\
             <field var='nick' label='Nickname'/></x></query>",
        );
        let p = plan("example.org", &q).expect("plan");
        assert_eq!(
            p,
            Plan::Form {
                form_type: Some("jabber:iq:register".into())
            }
        );
        let sent = String::from(&submission(&p, "alice", "s3cret"));
        assert!(sent.contains("type='submit'"), "{sent}");
        assert!(sent.contains("jabber:iq:register</value>"), "{sent}");
        assert!(sent.contains("<value>alice</value>"), "{sent}");
    }

    #[test]
    fn a_captcha_or_email_is_more_than_sotto_fills_in() {
        let q = query(
            "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='form'>\
             <field var='username'><required/></field><field var='password'><required/></field>\
             <field var='ocr' label='Enter the text you see'><required/></field></x>\
             <x xmlns='jabber:x:oob'><url>https://example.org/register</url></x></query>",
        );
        let err = plan("example.org", &q).expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("Enter the text you see"), "{text}");
        assert!(text.contains("at https://example.org/register"), "{text}");
        let legacy =
            query("<query xmlns='jabber:iq:register'><username/><password/><email/></query>");
        let text = plan("example.org", &legacy)
            .expect_err("refused")
            .to_string();
        assert!(
            text.contains("(email)") && text.contains("on its web site"),
            "{text}"
        );
    }

    #[test]
    fn web_only_registration_points_to_the_page() {
        let q = query(
            "<query xmlns='jabber:iq:register'><instructions>Go to the web</instructions>\
             <x xmlns='jabber:x:oob'><url>https://example.org/signup</url></x></query>",
        );
        let text = plan("example.org", &q).expect_err("refused").to_string();
        assert!(text.contains("https://example.org/signup"), "{text}");
        // A non-web URL is not offered to the user.
        let q = query(
            "<query xmlns='jabber:iq:register'><x xmlns='jabber:x:oob'><url>javascript:alert(1)</url></x></query>",
        );
        assert!(
            !plan("example.org", &q)
                .expect_err("refused")
                .to_string()
                .contains("javascript")
        );
    }

    #[test]
    fn the_legacy_submission_carries_exactly_name_and_password() {
        let sent = String::from(&submission(&Plan::Legacy, "alice", "pw<&>"));
        assert_eq!(
            sent,
            "<query xmlns='jabber:iq:register'><username>alice</username><password>pw&lt;&amp;&gt;</password></query>"
        );
    }

    #[test]
    fn server_refusals_read_as_sentences() {
        let error = |xml: &str| -> StanzaError { query(xml).try_into().expect("stanza error") };
        let taken = error(
            "<error xmlns='jabber:client' type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert_eq!(
            refusal("alice@example.org", "example.org", &taken).to_string(),
            "alice@example.org already exists on the server: pick another name, or sign in if it is yours"
        );
        let throttled = error(
            "<error xmlns='jabber:client' type='wait'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Too many registrations</text></error>",
        );
        let text = refusal("a@example.org", "example.org", &throttled).to_string();
        assert!(
            text.contains("try again later") && text.contains("Too many registrations"),
            "{text}"
        );
        let closed = error(
            "<error xmlns='jabber:client' type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
        );
        assert!(matches!(
            refusal("a@example.org", "example.org", &closed),
            RegisterError::NotOffered { .. }
        ));
    }
}
