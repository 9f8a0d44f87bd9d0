//! How the domain's fixed values are spelled on the command line: as they are
//! stored and shown, so clap lists them in `--help` and refuses any other.
use clap::builder::PossibleValue;
use clap::ValueEnum;

use crate::domain::{Binding, GrantStatus, OwnerStatus, ReviewDecisionKind};
use crate::store::SortColumn;

macro_rules! value_enum_by_name {
    ($($name:ty),+) => {$(
        impl ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                <$name>::ALL
            }
            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.as_str()))
            }
        }
    )+};
}

value_enum_by_name!(Binding, GrantStatus, OwnerStatus, ReviewDecisionKind);

impl ValueEnum for SortColumn {
    fn value_variants<'a>() -> &'a [Self] {
        SortColumn::CYCLE
    }
    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(match self {
            SortColumn::LastUsed => PossibleValue::new("last-used").alias("last_used"),
            SortColumn::ActiveFirst => PossibleValue::new("active-first").help("active credentials first, the soonest to expire first; then the rest by expiry"),
            other => PossibleValue::new(other.label()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_parses_back_the_way_the_domain_spells_it() {
        for s in GrantStatus::ALL {
            assert_eq!(GrantStatus::from_str(s.as_str(), false), Ok(*s));
        }
        for c in SortColumn::CYCLE {
            let spelled = c.label().replace(' ', "-");
            assert_eq!(SortColumn::from_str(&spelled, false), Ok(*c));
            assert_eq!(SortColumn::parse(&spelled), Some(*c));
        }
        assert_eq!(SortColumn::from_str("last_used", false), Ok(SortColumn::LastUsed));
    }
}
