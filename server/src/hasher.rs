//! Argon2id password hashing on the blocking pool, never more at once than
//! there are cores: a burst of sign-ins queues up instead of taking every
//! thread and 19 MiB per hash with it.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use domain::ports::PasswordHasher;
use domain::StoreError;
use tokio::sync::Semaphore;

/// OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params")
}

fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
}

pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    /// A hash of a random secret with our parameters: verified against for
    /// unknown accounts, so they cost exactly what a wrong password costs.
    dummy: String,
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Argon2Hasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut OsRng, &mut secret);
        let dummy = argon2()
            .hash_password(&secret, &SaltString::generate(&mut OsRng))
            .expect("hashing random bytes cannot fail")
            .to_string();
        Self { permits: Arc::new(Semaphore::new(cores)), dummy }
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
        let _permit = self.permits.acquire().await.map_err(StoreError::backend)?;
        tokio::task::spawn_blocking(work).await.map_err(StoreError::backend)
    }
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, StoreError> {
        let password = password.to_owned();
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| StoreError::backend(std::io::Error::other(e.to_string())))
        })
        .await?
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        self.run(move || verify(&password, &hash)).await.unwrap_or(false)
    }

    async fn verify_nothing(&self, password: &str) {
        let (password, hash) = (password.to_owned(), self.dummy.clone());
        let _ = self.run(move || verify(&password, &hash)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let hasher = Argon2Hasher::new();
        let h = hasher.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse", &h).await);
        assert!(!hasher.verify("wrong horse", &h).await);
        assert!(!hasher.verify("x", "not a hash").await);
    }

    #[test]
    fn the_dummy_hash_parses_with_the_hashers_own_parameters() {
        let hasher = Argon2Hasher::new();
        let dummy = PasswordHash::new(&hasher.dummy).expect("the dummy hash parses");
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        let parsed = Params::try_from(&dummy).expect("its parameters parse");
        let ours = params();
        assert_eq!((parsed.m_cost(), parsed.t_cost(), parsed.p_cost()), (ours.m_cost(), ours.t_cost(), ours.p_cost()));
    }

    #[tokio::test]
    async fn no_more_hashes_run_at_once_than_there_are_cores() {
        let hasher = Arc::new(Argon2Hasher::new());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let jobs = (0..cores * 3).map(|_| {
            let (hasher, running, most) = (hasher.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                hasher
                    .run(move || {
                        let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
            })
        });
        futures::future::join_all(jobs).await;
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= cores);
    }
}
