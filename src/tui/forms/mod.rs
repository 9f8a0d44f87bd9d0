//! The modal forms: revoke a credential, approve or deny a grant, triage a
//! leaked token, revoke all a person holds, decide a review item. Keys go
//! through the `[form]` keymap; only text typed into a field is raw.
pub mod bulk;
pub mod decision;
pub mod input;
pub mod review;
pub mod revoke;
pub mod triage;

/// A form a view opens.
#[derive(Debug, Clone)]
pub enum Form {
    Revoke(Box<revoke::RevokeForm>),
    Decide(Box<decision::DecisionForm>),
    Bulk(Box<bulk::BulkForm>),
    Review(Box<review::ReviewForm>),
}
