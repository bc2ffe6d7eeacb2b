//! Name resolution for the client's agent.
//!
//! ureq resolves the host before every request, and with a timeout set (this crate always sets
//! one) its default resolver runs each lookup on a fresh thread so it can give up in time.
//! For a host that is already an IP address there is nothing to look up, so [`Resolver`]
//! answers those at once and leaves names to ureq's default. (Measured in `tests/benches`:
//! on loopback the thread per call was most of onellm-blocking's overhead over bare ureq.)

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver as Resolve};
use ureq::unversioned::transport::NextTimeout;

/// IP literals answered directly; names resolved by ureq's [`DefaultResolver`].
#[derive(Debug, Default)]
pub(crate) struct Resolver {
    names: DefaultResolver,
}

/// The socket address of a URI whose host is an IP literal (`127.0.0.1`, `[::1]`).
fn literal_address(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = authority.port_u16().or(match uri.scheme_str()? {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

impl Resolve for Resolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_address(uri) {
            Some(address) => {
                let mut addresses = self.empty();
                addresses.push(address);
                Ok(addresses)
            }
            None => self.names.resolve(uri, config, timeout),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_answered_and_names_are_not() {
        let address = |uri: &str| literal_address(&uri.parse().unwrap());
        assert_eq!(
            address("http://127.0.0.1:8080/v1"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            address("https://[::1]/x"),
            Some("[::1]:443".parse().unwrap())
        );
        assert_eq!(
            address("http://10.1.2.3/x"),
            Some("10.1.2.3:80".parse().unwrap())
        );
        assert_eq!(address("https://api.openai.com/v1"), None);
        assert_eq!(address("http://localhost:11434/v1"), None);
    }
}
