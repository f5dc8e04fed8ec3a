//! The message catalogue of `rdlic probe` and `rdlic diagnose`: the `diag` domain of [`rdlic_i18n`] (English and
//! French, `crates/rdlic-i18n/locales/{en,fr}/diag.ftl`), re-exported so that `rdlic_diag::Lang` and
//! `rdlic_diag::catalog::*` keep working. The French wording of the client-visible licensing errors follows the seed
//! article.

pub use rdlic_i18n::{keys, placeholders, Catalog, Key, Lang};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_diag_message_exists_in_both_languages() {
        let (en, fr) = (Lang::En.catalog(), Lang::Fr.catalog());
        let keys: Vec<&str> = en.keys_of("diag").collect();
        assert!(keys.len() > 50);
        for key in keys {
            let (e, f) = (en.pattern(key).unwrap_or_default(), fr.pattern(key).unwrap_or_default());
            assert!(!e.is_empty() && !f.is_empty(), "{key}");
            assert_eq!(placeholders(e), placeholders(f), "{key}");
        }
    }

    #[test]
    fn french_client_message_follows_the_article() {
        assert_eq!(
            Lang::Fr.msg("errinfo-user-0x101", &[]),
            "La session distante a été déconnectée, car aucun serveur de licences des services Bureau à distance n’est disponible pour fournir une licence."
        );
    }
}
