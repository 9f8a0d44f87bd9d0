//! One file per issuer kind behind one trait (`connector.rs`). Each maps its
//! issuer's shape onto `domain` types (sanitized); nothing issuer-specific leaks
//! past this room. A new issuer kind: its file here and a line in `build`.
use crate::config::IssuerConfig;
use crate::domain::IssuerKind;

pub mod aws_iam;
mod connector;
pub mod github;
pub mod http;
pub mod oauth;
pub mod scim;
pub mod tokenward;
pub mod vault;

pub use connector::{Approval, ApprovalAnswer, Capabilities, Connector, ConnectorError, HttpSettings, Page, Rejection, Result};

pub fn build(cfg: &IssuerConfig) -> Result<Box<dyn Connector>> {
    let settings = HttpSettings::from_config(cfg).map_err(|message| ConnectorError::Config { issuer: cfg.name.clone(), message })?;
    match cfg.kind {
        IssuerKind::Tokenward => Ok(Box::new(tokenward::ProtocolV1::new(&cfg.name, settings)?)),
        IssuerKind::Scim => Ok(Box::new(scim::ScimDirectory::new(&cfg.name, settings)?)),
        IssuerKind::Oauth => Ok(Box::new(oauth::OAuthServer::new(cfg, settings)?)),
        IssuerKind::Github => Ok(Box::new(github::GithubOrg::new(cfg, settings)?)),
        IssuerKind::Vault => Ok(Box::new(vault::VaultTokens::new(&cfg.name, settings)?)),
        IssuerKind::AwsIam => Ok(Box::new(aws_iam::AwsIam::new(cfg, settings)?)),
    }
}
