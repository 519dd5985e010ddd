//! Argon2id password hashing, run on the blocking pool so it never stalls requests.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use domain::ports::PasswordHasher;
use domain::StoreError;

/// OWASP's recommended argon2id settings: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("valid argon2 params"))
}

pub struct Argon2Hasher;

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, StoreError> {
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| StoreError::backend(std::io::Error::other(e.to_string())))
        })
        .await
        .map_err(StoreError::backend)?
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify_only_the_right_password() {
        let h = Argon2Hasher.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(Argon2Hasher.verify("correct horse", &h).await);
        assert!(!Argon2Hasher.verify("wrong horse", &h).await);
        assert!(!Argon2Hasher.verify("x", "not a hash").await);
    }
}
