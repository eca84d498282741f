//! st-setup's integration tests: the real binary, a fake ServiceTitan on
//! 127.0.0.1, the real gnome-keyring of scripts/test, and a pseudo-terminal for
//! the wizard. One test binary; each module reads like the behaviour it checks.

mod util;

mod init;
mod network;
mod scripting;
mod wizard;
