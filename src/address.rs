//! Which IP addresses a URL from a contact may reach: none of the IANA
//! special-purpose ranges (IPv4 and IPv6 Special-Purpose Address
//! Registries, plus multicast and the deprecated forms that embed IPv4
//! addresses). A contact's push relay or file link must not make Sotto
//! talk to this machine, the local network, or anything that forwards
//! into them (NAT64, 6to4, Teredo).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One special-purpose range: network, prefix length, what it is.
struct Range<A> {
    network: A,
    prefix: u8,
    name: &'static str,
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8, name: &'static str) -> Range<u32> {
    Range {
        network: u32::from_be_bytes([a, b, c, d]),
        prefix,
        name,
    }
}

const fn v6(network: u128, prefix: u8, name: &'static str) -> Range<u128> {
    Range {
        network,
        prefix,
        name,
    }
}

/// IANA IPv4 Special-Purpose Address Registry (2025), and multicast.
const V4: &[Range<u32>] = &[
    v4(0, 0, 0, 0, 8, "\"this network\""),
    v4(10, 0, 0, 0, 8, "private"),
    v4(100, 64, 0, 0, 10, "shared (carrier-grade NAT)"),
    v4(127, 0, 0, 0, 8, "loopback"),
    v4(169, 254, 0, 0, 16, "link-local"),
    v4(172, 16, 0, 0, 12, "private"),
    v4(192, 0, 0, 0, 24, "IETF protocol assignments"),
    v4(192, 0, 2, 0, 24, "documentation"),
    v4(192, 31, 196, 0, 24, "AS112"),
    v4(192, 52, 193, 0, 24, "AMT"),
    v4(192, 88, 99, 0, 24, "6to4 relay anycast"),
    v4(192, 168, 0, 0, 16, "private"),
    v4(192, 175, 48, 0, 24, "AS112 direct delegation"),
    v4(198, 18, 0, 0, 15, "benchmarking"),
    v4(198, 51, 100, 0, 24, "documentation"),
    v4(203, 0, 113, 0, 24, "documentation"),
    v4(224, 0, 0, 0, 4, "multicast"),
    v4(240, 0, 0, 0, 4, "reserved"),
    v4(255, 255, 255, 255, 32, "broadcast"),
];

/// IANA IPv6 Special-Purpose Address Registry (2025), multicast, and the
/// deprecated IPv4-compatible and site-local forms.
const V6: &[Range<u128>] = &[
    v6(0, 128, "unspecified"),
    v6(1, 128, "loopback"),
    v6(0, 96, "IPv4-compatible (deprecated)"),
    v6(0xffff_0000_0000, 96, "IPv4-mapped"),
    v6(0x0064_ff9b << 96, 96, "IPv4/IPv6 translation (NAT64)"),
    v6(
        0x0064_ff9b_0001 << 80,
        48,
        "local-use IPv4/IPv6 translation",
    ),
    v6(0x0100 << 112, 64, "discard-only"),
    v6((0x0100 << 112) | (1 << 64), 64, "dummy prefix"),
    v6(
        0x2001 << 112,
        23,
        "IETF protocol assignments (Teredo, ORCHID, ...)",
    ),
    v6(0x2001_0db8 << 96, 32, "documentation"),
    v6(0x2002 << 112, 16, "6to4"),
    v6(0x2620_004f_8000 << 80, 48, "AS112 direct delegation"),
    v6(0x3fff << 112, 20, "documentation"),
    v6(0x5f00 << 112, 16, "segment routing (SRv6)"),
    v6(0xfc00 << 112, 7, "unique local"),
    v6(0xfe80 << 112, 10, "link-local"),
    v6(0xfec0 << 112, 10, "site-local (deprecated)"),
    v6(0xff00 << 112, 8, "multicast"),
];

fn matches_v4(addr: Ipv4Addr, r: &Range<u32>) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(r.prefix)).unwrap_or(0);
    u32::from(addr) & mask == r.network & mask
}

fn matches_v6(addr: Ipv6Addr, r: &Range<u128>) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(r.prefix))
        .unwrap_or(0);
    u128::from(addr) & mask == r.network & mask
}

/// The special-purpose range `ip` is in, by name; `None` for an ordinary
/// globally routed address.
pub fn special_purpose(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(a) => V4.iter().find(|r| matches_v4(a, r)).map(|r| r.name),
        IpAddr::V6(a) => V6.iter().find(|r| matches_v6(a, r)).map(|r| r.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_last_v4(r: &Range<u32>) -> (Ipv4Addr, Ipv4Addr) {
        let size = 1u64 << (32 - u32::from(r.prefix));
        let last = (u64::from(r.network) + size - 1) as u32;
        (Ipv4Addr::from(r.network), Ipv4Addr::from(last))
    }

    fn first_last_v6(r: &Range<u128>) -> (Ipv6Addr, Ipv6Addr) {
        let span = u128::MAX.checked_shr(u32::from(r.prefix)).unwrap_or(0);
        (Ipv6Addr::from(r.network), Ipv6Addr::from(r.network | span))
    }

    #[test]
    fn every_ipv4_range_is_refused_end_to_end() {
        for r in V4 {
            let (first, last) = first_last_v4(r);
            assert!(
                special_purpose(first.into()).is_some(),
                "{first} ({})",
                r.name
            );
            assert!(
                special_purpose(last.into()).is_some(),
                "{last} ({})",
                r.name
            );
        }
    }

    #[test]
    fn every_ipv6_range_is_refused_end_to_end() {
        for r in V6 {
            let (first, last) = first_last_v6(r);
            assert!(
                special_purpose(first.into()).is_some(),
                "{first} ({})",
                r.name
            );
            assert!(
                special_purpose(last.into()).is_some(),
                "{last} ({})",
                r.name
            );
        }
    }

    #[test]
    fn the_named_gaps_are_closed() {
        for ip in [
            "0.1.2.3",
            "198.18.0.1",
            "198.19.255.255",
            "240.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::7f00:1",            // IPv4-compatible 127.0.0.1
            "::ffff:10.0.0.1",     // IPv4-mapped
            "64:ff9b::a00:1",      // NAT64 of 10.0.0.1
            "64:ff9b:1::1",        // local NAT64
            "2002:7f00:1::1",      // 6to4 of 127.0.0.1
            "2001:0:4136:e378::1", // Teredo
            "2001:db8::1",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::1",
            "::",
        ] {
            let addr: IpAddr = ip.parse().expect("address");
            assert!(special_purpose(addr).is_some(), "{ip} must be refused");
        }
    }

    #[test]
    fn ordinary_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "2001:4860:4860::8888",
            "2a00:1450:4001::1",
            "2606:4700::1111",
        ] {
            let addr: IpAddr = ip.parse().expect("address");
            assert_eq!(special_purpose(addr), None, "{ip} is global");
        }
    }
}
