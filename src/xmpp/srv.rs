//! Where to connect: DNS SRV for `_xmpps-client` (direct TLS, XEP-0368) and
//! `_xmpp-client` (STARTTLS), ordered by priority and weight (RFC 2782),
//! falling back to the domain itself.

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::RData;

use crate::config::ServerAddress;

/// One place to try, and how to speak TLS there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub host: String,
    pub port: u16,
    pub direct_tls: bool,
}

/// An SRV answer, reduced to what ordering needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    pub priority: u16,
    pub weight: u16,
    pub target: String,
    pub port: u16,
    pub direct_tls: bool,
}

/// The order in which to try `records`: by priority, and within one
/// priority by RFC 2782's weighted random choice. `pick(total)` returns a
/// number in `0..=total` (random in production, fixed in tests). A lone
/// record with target "." means "no service here" and is dropped.
pub fn order_srv(mut records: Vec<SrvRecord>, mut pick: impl FnMut(u32) -> u32) -> Vec<Candidate> {
    records.retain(|r| !(r.target == "." || r.target.is_empty()));
    records.sort_by_key(|r| r.priority);
    let mut out = Vec::with_capacity(records.len());
    let mut rest = records.as_slice();
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take_while(|r| r.priority == first.priority)
            .count();
        let (group, tail) = rest.split_at(same);
        let mut group: Vec<&SrvRecord> = group.iter().collect();
        // Zero-weight records go first so they keep a small chance (RFC 2782).
        group.sort_by_key(|r| r.weight);
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(r.weight)).sum();
            let target = pick(total).min(total);
            let mut running = 0u32;
            let index = group
                .iter()
                .position(|r| {
                    running += u32::from(r.weight);
                    running >= target
                })
                .unwrap_or(0);
            let chosen = group.remove(index);
            out.push(Candidate {
                host: chosen.target.trim_end_matches('.').to_owned(),
                port: chosen.port,
                direct_tls: chosen.direct_tls,
            });
        }
        rest = tail;
    }
    out
}

/// The candidates for a domain, or just the user's server if they set one.
pub async fn candidates(
    domain: &str,
    server: Option<&ServerAddress>,
    direct_tls: bool,
    resolver: Option<&TokioResolver>,
) -> Vec<Candidate> {
    if let Some(server) = server {
        return vec![Candidate {
            host: server.host.clone(),
            port: server.port,
            direct_tls,
        }];
    }
    let fallback = Candidate {
        host: domain.to_owned(),
        port: if direct_tls { 5223 } else { 5222 },
        direct_tls,
    };
    let Some(resolver) = resolver else {
        return vec![fallback];
    };
    let mut records = lookup(resolver, "_xmpps-client._tcp", domain, true).await;
    if !direct_tls {
        records.extend(lookup(resolver, "_xmpp-client._tcp", domain, false).await);
    }
    let ordered = order_srv(records, |total| rand::random_range(0..=total));
    if ordered.is_empty() {
        vec![fallback]
    } else {
        ordered
    }
}

async fn lookup(
    resolver: &TokioResolver,
    service: &str,
    domain: &str,
    direct_tls: bool,
) -> Vec<SrvRecord> {
    let name = format!("{service}.{domain}.");
    match resolver.srv_lookup(name.as_str()).await {
        Ok(lookup) => lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    target: srv.target.to_ascii(),
                    port: srv.port,
                    direct_tls,
                }),
                _ => None,
            })
            .collect(),
        Err(e) => {
            tracing::debug!(%name, error = %e, "no SRV records");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(priority: u16, weight: u16, target: &str, direct_tls: bool) -> SrvRecord {
        SrvRecord {
            priority,
            weight,
            target: target.into(),
            port: if direct_tls { 5223 } else { 5222 },
            direct_tls,
        }
    }

    fn hosts(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.host.as_str()).collect()
    }

    #[test]
    fn lower_priority_first_across_both_services() {
        let ordered = order_srv(
            vec![
                rec(20, 0, "starttls.example.", false),
                rec(10, 0, "direct.example.", true),
                rec(30, 0, "backup.example.", false),
            ],
            |_| 0,
        );
        assert_eq!(
            hosts(&ordered),
            ["direct.example", "starttls.example", "backup.example"]
        );
        assert!(ordered[0].direct_tls);
        assert!(!ordered[1].direct_tls);
    }

    #[test]
    fn weight_decides_within_a_priority() {
        let records = vec![rec(5, 10, "light.", false), rec(5, 90, "heavy.", false)];
        // A pick above the light record's share lands on the heavy one.
        assert_eq!(
            hosts(&order_srv(records.clone(), |_| 50)),
            ["heavy", "light"]
        );
        assert_eq!(hosts(&order_srv(records, |_| 5)), ["light", "heavy"]);
    }

    #[test]
    fn a_dot_target_means_no_service() {
        assert!(order_srv(vec![rec(0, 0, ".", true)], |_| 0).is_empty());
    }

    #[tokio::test]
    async fn an_explicit_server_skips_dns() {
        let server: ServerAddress = "127.0.0.1:15223".parse().expect("addr");
        let c = candidates("example.org", Some(&server), true, None).await;
        assert_eq!(
            c,
            [Candidate {
                host: "127.0.0.1".into(),
                port: 15223,
                direct_tls: true
            }]
        );
    }
}
