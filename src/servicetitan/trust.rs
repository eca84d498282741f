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
//! for that thread if it has not finished. On a 2-core machine this also keeps
//! the loading from competing for a core with the work that gets the
//! ClientHellos out. A run that makes no TLS connection loads nothing, and a
//! system without any CA certificate is reported at the handshake, as the TLS
//! failure it is, instead of failing runs that use plain http.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread::JoinHandle;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_platform_verifier::Verifier;

/// The certificates of a PEM bundle, checked to be usable as trust anchors.
/// `Err` says what is wrong with the bundle, for the caller to name the file.
pub(crate) fn parse_pem_bundle(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    // What the verifier will do with them, done now so that a bad bundle is a
    // usage error at the start, not a TLS failure later.
    let mut store = RootCertStore::empty();
    for cert in &certs {
        store.add(cert.clone()).map_err(|e| e.to_string())?;
    }
    Ok(certs)
}

/// The TLS client configuration of every connection: HTTP/1.1 over TLS 1.2
/// or 1.3 with `provider`, trusting the platform's authorities and
/// `extra_roots`, the platform's loaded on a thread when the first
/// connection starts its handshake.
pub(crate) fn client_config(
    provider: Arc<CryptoProvider>,
    extra_roots: Vec<CertificateDer<'static>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let verifier = LoadedInBackground::new(Arc::clone(&provider), extra_roots);
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

/// The platform verifier, built on a thread of its own from the first
/// ClientHello on; every certificate check waits for it.
#[derive(Debug)]
struct LoadedInBackground {
    /// What the signatures of a handshake are checked with, known at once.
    provider: Arc<CryptoProvider>,
    loading: Mutex<Loading>,
    loaded: OnceLock<Result<Verifier, rustls::Error>>,
}

#[derive(Debug)]
enum Loading {
    /// Not asked for yet: the roots to add to the platform's.
    NotStarted(Vec<CertificateDer<'static>>),
    Started(JoinHandle<Result<Verifier, rustls::Error>>),
    /// Handed to `loaded` (or lost to a panic while being handed).
    Taken,
}

impl LoadedInBackground {
    fn new(provider: Arc<CryptoProvider>, extra_roots: Vec<CertificateDer<'static>>) -> Self {
        LoadedInBackground {
            provider,
            loading: Mutex::new(Loading::NotStarted(extra_roots)),
            loaded: OnceLock::new(),
        }
    }

    fn loading(&self) -> std::sync::MutexGuard<'_, Loading> {
        self.loading.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Start building the verifier on its own thread, unless it was started.
    fn start_loading(&self) {
        let mut loading = self.loading();
        if let Loading::NotStarted(extra_roots) = &*loading {
            // A copy (a few certificates at most): if no thread can be had,
            // the first check builds the verifier from the originals.
            let extra_roots = extra_roots.clone();
            let provider = Arc::clone(&self.provider);
            let build = move || Verifier::new_with_extra_roots(extra_roots, provider);
            if let Ok(handle) = std::thread::Builder::new()
                .name("tls-roots".into())
                .spawn(build)
            {
                *loading = Loading::Started(handle);
            }
        }
    }

    /// The verifier, waiting for the thread building it the first time.
    fn verifier(&self) -> Result<&Verifier, rustls::Error> {
        let loaded = self.loaded.get_or_init(|| {
            let built = match std::mem::replace(&mut *self.loading(), Loading::Taken) {
                Loading::Started(handle) => handle.join().unwrap_or_else(|_| {
                    Err(rustls::Error::General(
                        "the thread loading them failed".into(),
                    ))
                }),
                Loading::NotStarted(extra_roots) => {
                    Verifier::new_with_extra_roots(extra_roots, Arc::clone(&self.provider))
                }
                Loading::Taken => Err(rustls::Error::General(
                    "an earlier attempt to load them failed".into(),
                )),
            };
            built.map_err(|e| {
                rustls::Error::General(format!(
                    "could not load this computer's trusted certificate authorities ({e}); \
                     install them (Debian: ca-certificates) or give --ca-bundle FILE"
                ))
            })
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

    #[test]
    fn a_bundle_without_certificates_is_empty_and_garbage_is_refused() {
        assert_eq!(parse_pem_bundle(b"not a certificate\n").unwrap(), vec![]);
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_bundle(broken).is_err());
        let not_x509 = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(parse_pem_bundle(not_x509).is_err());
    }

    #[test]
    fn the_schemes_are_known_before_the_roots_are_loaded() {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = LoadedInBackground::new(Arc::clone(&provider), vec![]);
        assert_eq!(
            verifier.supported_verify_schemes(),
            provider
                .signature_verification_algorithms
                .supported_schemes()
        );
    }
}
