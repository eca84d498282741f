//! Which certificate authorities a TLS connection trusts: the platform's
//! (rustls-platform-verifier: the system store on Linux, the OS's own
//! verifier on macOS and Windows) plus the `--ca-bundle` file's.
//!
//! On Linux the system store is a few hundred PEM files (both
//! `/etc/ssl/certs/ca-certificates.crt` and the directory beside it), read and
//! decoded: about 2.5 ms of CPU warm, more on a cold cache. reqwest would do
//! that before the first connection; nothing needs them until the server's
//! certificate arrives, a round trip and the server's handshake work after
//! the ClientHello. So they are loaded on a thread of their own, started when
//! the first ClientHello is built (rustls asks the verifier for its signature
//! schemes then, which need no roots), and the first certificate check waits
//! for that thread if it has not finished (at most the connect timeout). On a
//! 2-core machine this also keeps the loading from competing for a core with
//! the work that gets the ClientHellos out. A run that makes no TLS
//! connection loads nothing, and a system without any CA certificate is
//! reported at the handshake, as the TLS failure it is, instead of failing
//! runs that use plain http.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// The certificates of a PEM bundle (decoded only: whether each can be a
/// certificate authority is checked with the system's, on their thread).
/// `Err` says what is wrong with the bundle, for the caller to name the file.
pub(crate) fn parse_pem_bundle(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

/// The authorities to trust besides the platform's: the certificates of the
/// `--ca-bundle` / `SSL_CERT_FILE` file at `path`.
pub(crate) struct ExtraRoots {
    pub(crate) path: PathBuf,
    pub(crate) certs: Vec<CertificateDer<'static>>,
}

/// Why no certificate can be checked: inside the `rustls::Error::Other` the
/// handshake fails with, for [`super::failure`] to say in its own words.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RootsUnavailable {
    /// This computer's CA store could not be loaded (`problem`: why).
    #[error(
        "could not load this computer's trusted certificate authorities ({problem}). Install \
         them (Debian: the ca-certificates package) or give --ca-bundle FILE."
    )]
    System { problem: String },
    /// A certificate of the CA bundle cannot be a certificate authority.
    #[error(
        "{} (--ca-bundle / SSL_CERT_FILE) holds a certificate that cannot be a certificate \
         authority ({problem}): fix the file or give another.",
        path.display()
    )]
    BadBundle { path: PathBuf, problem: String },
    /// Loading them took longer than the connect timeout.
    #[error(
        "loading this computer's trusted certificate authorities took longer than {} s.",
        limit.as_secs_f64()
    )]
    TooSlow { limit: Duration },
}

/// The TLS client configuration of every connection: HTTP/1.1 over TLS 1.2
/// or 1.3 with `provider`, trusting the platform's authorities and `extra`'s,
/// loaded on a thread when the first connection starts its handshake and
/// waited for at most `limit`.
pub(crate) fn client_config(
    provider: Arc<CryptoProvider>,
    extra: Option<ExtraRoots>,
    limit: Duration,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let verifier = LoadedInBackground::new(Arc::clone(&provider), extra, limit);
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    // What reqwest asks for when it builds the configuration itself with
    // only HTTP/1 compiled in.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform verifier with `extra`'s roots, or why there is none.
fn build(
    provider: Arc<CryptoProvider>,
    extra: Option<ExtraRoots>,
) -> Result<Verifier, RootsUnavailable> {
    let certs = match extra {
        Some(ExtraRoots { path, certs }) => {
            let mut check = RootCertStore::empty();
            for cert in &certs {
                check
                    .add(cert.clone())
                    .map_err(|e| RootsUnavailable::BadBundle {
                        path: path.clone(),
                        problem: in_words(&e),
                    })?;
            }
            certs
        }
        None => Vec::new(),
    };
    Verifier::new_with_extra_roots(certs, provider).map_err(|e| RootsUnavailable::System {
        problem: in_words(&e),
    })
}

/// rustls's error without its prefixes ("unexpected error: ", "invalid peer
/// certificate: "), which would misname a problem of a local file.
fn in_words(e: &rustls::Error) -> String {
    match e {
        rustls::Error::General(words) => words.clone(),
        rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding) => {
            "not an X.509 certificate".into()
        }
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        other => other.to_string(),
    }
}

/// The platform verifier, built on a thread of its own from the first
/// ClientHello on; every certificate check waits for it.
struct LoadedInBackground {
    /// What the signatures of a handshake are checked with, known at once.
    provider: Arc<CryptoProvider>,
    /// The longest the first check waits for the thread.
    limit: Duration,
    loading: Mutex<Loading>,
    loaded: OnceLock<Result<Verifier, rustls::Error>>,
}

impl std::fmt::Debug for LoadedInBackground {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedInBackground")
            .field("limit", &self.limit)
            .field("loaded", &self.loaded.get().map(Result::is_ok))
            .finish_non_exhaustive()
    }
}

enum Loading {
    /// Not asked for yet: the roots to add to the platform's.
    NotStarted(Option<ExtraRoots>),
    /// Being built; the verifier arrives here.
    Started(Receiver<Result<Verifier, RootsUnavailable>>),
    /// Handed to `loaded` (or lost to a panic while being handed).
    Taken,
}

impl LoadedInBackground {
    fn new(provider: Arc<CryptoProvider>, extra: Option<ExtraRoots>, limit: Duration) -> Self {
        LoadedInBackground {
            provider,
            limit,
            loading: Mutex::new(Loading::NotStarted(extra)),
            loaded: OnceLock::new(),
        }
    }

    fn loading(&self) -> MutexGuard<'_, Loading> {
        self.loading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Start building the verifier on its own thread, unless it was started.
    fn start_loading(&self) {
        let mut loading = self.loading();
        let Loading::NotStarted(extra) = &mut *loading else {
            return;
        };
        // A copy (a few certificates, or a system bundle given as
        // SSL_CERT_FILE): if no thread can be had, the first check builds the
        // verifier from the originals.
        let extra = extra.as_ref().map(|e| ExtraRoots {
            path: e.path.clone(),
            certs: e.certs.clone(),
        });
        let provider = Arc::clone(&self.provider);
        let (sender, receiver) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("tls-roots".into())
            .spawn(move || {
                let _ = sender.send(build(provider, extra));
            });
        if spawned.is_ok() {
            *loading = Loading::Started(receiver);
        }
    }

    /// The verifier, waiting (at most `limit`) for the thread building it
    /// the first time.
    fn verifier(&self) -> Result<&Verifier, rustls::Error> {
        let loaded = self.loaded.get_or_init(|| {
            // Taken out first, so that the lock is not held while waiting.
            let state = std::mem::replace(&mut *self.loading(), Loading::Taken);
            let built = match state {
                Loading::Started(receiver) => match receiver.recv_timeout(self.limit) {
                    Ok(built) => built,
                    Err(RecvTimeoutError::Timeout) => {
                        Err(RootsUnavailable::TooSlow { limit: self.limit })
                    }
                    Err(RecvTimeoutError::Disconnected) => Err(RootsUnavailable::System {
                        problem: "the thread loading them stopped".into(),
                    }),
                },
                Loading::NotStarted(extra) => build(Arc::clone(&self.provider), extra),
                Loading::Taken => Err(RootsUnavailable::System {
                    problem: "an earlier attempt to load them failed".into(),
                }),
            };
            built.map_err(|e| rustls::Error::Other(OtherError(Arc::new(e))))
        });
        loaded.as_ref().map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LoadedInBackground {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier()?.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier()?.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        // Asked while the ClientHello is built: the time to load the roots.
        self.start_loading();
        // What the platform verifier answers, known without it.
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[test]
    fn a_bundle_without_certificates_is_empty_and_broken_pem_is_refused() {
        assert_eq!(parse_pem_bundle(b"not a certificate\n").unwrap(), vec![]);
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_bundle(broken).is_err());
    }

    #[test]
    fn a_bundle_certificate_that_is_not_x509_is_named_with_its_file() {
        let not_x509 = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let certs = parse_pem_bundle(not_x509).unwrap();
        let extra = ExtraRoots {
            path: PathBuf::from("/tmp/corp-ca.pem"),
            certs,
        };
        let err = build(provider(), Some(extra)).unwrap_err();
        assert!(
            matches!(&err, RootsUnavailable::BadBundle { path, .. } if path.ends_with("corp-ca.pem")),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("/tmp/corp-ca.pem (--ca-bundle"),
            "{err}"
        );
    }

    #[test]
    fn the_schemes_are_the_platform_verifiers_and_asking_starts_the_loading() {
        let verifier = LoadedInBackground::new(provider(), None, Duration::from_secs(10));
        assert!(matches!(*verifier.loading(), Loading::NotStarted(_)));
        let platform = Verifier::new(provider()).expect("this computer's CA store");
        assert_eq!(
            verifier.supported_verify_schemes(),
            platform.supported_verify_schemes()
        );
        assert!(matches!(*verifier.loading(), Loading::Started(_)));
        assert!(verifier.verifier().is_ok());
    }
}
