//! Reading a session's IP address, fast.
//!
//! An org scan with `--ip` reads one or two addresses per session, a million times over.
//! `str::parse::<IpAddr>` spent about as much CPU on that as the rest of the match (it tries
//! IPv4 and IPv6 through a general parser). Almost every address Slack reports is a plain
//! dotted quad, so [`parse_ip`] reads that shape directly and hands anything else to the
//! standard parser. It accepts exactly what `str::parse::<IpAddr>` accepts and gives the same
//! address (a proptest below compares them): the fast path only ever accepts four decimal
//! octets of 1-3 digits, no leading zero, each at most 255, which the standard parser
//! accepts too.

use std::net::{IpAddr, Ipv4Addr};

/// `text.parse::<IpAddr>().ok()`, with a fast path for plain IPv4.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    match dotted_quad(text.as_bytes()) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => text.parse().ok(),
    }
}

/// Four octets `d.d.d.d`, each 1-3 digits without a leading zero (but `0` itself) and at most
/// 255; `None` for anything else, including valid addresses of other shapes.
fn dotted_quad(b: &[u8]) -> Option<Ipv4Addr> {
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value: u32 = 0;
        while i < b.len() && i - start < 3 && b[i].is_ascii_digit() {
            value = value * 10 + u32::from(b[i] - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || value > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = value as u8;
    }
    (i == b.len()).then(|| Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_addresses_take_the_fast_path() {
        for (text, want) in [
            ("0.0.0.0", [0, 0, 0, 0]),
            ("198.51.100.23", [198, 51, 100, 23]),
            ("255.255.255.255", [255, 255, 255, 255]),
            ("10.0.20.1", [10, 0, 20, 1]),
        ] {
            assert_eq!(
                dotted_quad(text.as_bytes()),
                Some(Ipv4Addr::from(want)),
                "{text}"
            );
        }
    }

    #[test]
    fn other_shapes_fall_through_to_the_standard_parser() {
        for text in [
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..3.4",
            "1.2.3.4 ",
            "1.2.3.1000",
            "::1",
            "::ffff:1.2.3.4",
            "",
        ] {
            assert_eq!(dotted_quad(text.as_bytes()), None, "{text:?}");
            assert_eq!(parse_ip(text), text.parse().ok(), "{text:?}");
        }
        assert_eq!(parse_ip("2001:db8::7"), "2001:db8::7".parse().ok());
    }

    proptest! {
        #[test]
        fn agrees_with_the_standard_parser(text in "[0-9.]{0,17}|[0-9a-f:.]{0,20}|[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}") {
            prop_assert_eq!(parse_ip(&text), text.parse::<IpAddr>().ok());
        }

        #[test]
        fn every_ipv4_address_round_trips(a: u8, b: u8, c: u8, d: u8) {
            let text = Ipv4Addr::new(a, b, c, d).to_string();
            prop_assert_eq!(dotted_quad(text.as_bytes()), Some(Ipv4Addr::new(a, b, c, d)));
        }
    }
}
