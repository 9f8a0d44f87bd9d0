//! How lists and statuses are spelled where they travel as text: a list as its
//! items separated by spaces (as the store keeps them), no owner as `none`.
/// A space-separated list as stored, split into its items.
pub fn split(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// `#[serde(with = "spaced")]`: a list as one space-separated string (null reads as empty).
pub mod spaced {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(items: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&items.join(" "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|s| s.split_whitespace().map(str::to_string).collect()).unwrap_or_default())
    }
}

/// `#[serde(with = "owner_status")]`: a credential's owner status, `none` when it has no owner.
pub mod owner_status {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::inventory::OwnerStatus;

    pub fn serialize<S: Serializer>(status: &Option<OwnerStatus>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(OwnerStatus::or_none(*status))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OwnerStatus>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.as_deref().and_then(OwnerStatus::parse))
    }
}
