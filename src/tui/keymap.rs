//! Keys map to actions, never to code. The default map is `keymap.toml`
//! (embedded); the config may override any action key by key.
use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

pub const DEFAULT_KEYMAP: &str = include_str!("../../keymap.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    Help,
    Command,
    /// The next view of the header's tabs, and the one before.
    NextView,
    PrevView,
    CycleTheme,
    Refresh,
    Down,
    Up,
    PageDown,
    PageUp,
    Top,
    Bottom,
    Filter,
    Detail,
    Back,
    SortNext,
    SortReverse,
    Revoke,
    /// Every active credential the current filter selects, as one bulk revoke.
    RevokeAll,
    DetailDown,
    DetailUp,
    SyncNow,
    Approve,
    Deny,
    ToggleOrder,
    Recompute,
    CycleFilter,
    Keep,
    Reassign,
    Shorten,
    Reduce,
    NextUndecided,
    /// Form keys: the `[form]` table; a key not bound there is text for the focused field.
    Submit,
    Cancel,
    Confirm,
    Reject,
    NextField,
    PrevField,
    ToggleScope,
    CycleBinding,
}

impl Action {
    pub fn description(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "show every key of this view",
            Action::Command => "switch view or run a `:` command (listed below)",
            Action::NextView => "next view (the header's tabs, in order)",
            Action::PrevView => "previous view",
            Action::CycleTheme => "cycle colour theme",
            Action::Refresh => "reload from the inventory",
            Action::Down => "next row",
            Action::Up => "previous row",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Filter => "filter (owner:x scope:y binding:bearer expires<7d unused>90d -term ...)",
            Action::Detail => "open/close the detail pane",
            Action::Back => "close the pane, else clear the filter",
            Action::SortNext => "sort by the next column",
            Action::SortReverse => "reverse the sort order",
            Action::Revoke => "revoke at the issuer (asks a reason, then confirms)",
            Action::RevokeAll => "revoke every active credential the filter selects (dry run, reason, confirmation)",
            Action::DetailDown => "scroll the detail pane down",
            Action::DetailUp => "scroll the detail pane up",
            Action::SyncNow => "sync the selected issuer now",
            Action::Approve => "approve the grant: narrower scopes, shorter TTL, tighter binding, a justification",
            Action::Deny => "deny the grant with a reason",
            Action::ToggleOrder => "newest or oldest first",
            Action::Recompute => "recompute every findings rule now",
            Action::CycleFilter => "cycle the filter (owners: all/offboarded/unknown/active; expiring: 24h/7d/30d)",
            Action::Keep => "keep the credential (asks a reason)",
            Action::Reassign => "reassign the owner at the issuer (asks the new owner and a reason)",
            Action::Shorten => "shorten its lifetime at the issuer (asks a duration and a reason)",
            Action::Reduce => "reduce its scopes at the issuer (asks the scopes to keep and a reason)",
            Action::NextUndecided => "next undecided item",
            Action::Submit => "submit the form",
            Action::Cancel => "close the form",
            Action::Confirm => "confirm",
            Action::Reject => "go back and edit",
            Action::NextField => "next field",
            Action::PrevField => "previous field",
            Action::ToggleScope => "keep or drop the scope",
            Action::CycleBinding => "require dpop or mtls",
        }
    }

    /// The short word in the footer.
    pub fn hint(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::Help => "help",
            Action::Command => "view",
            Action::Filter => "filter",
            Action::Detail => "detail",
            Action::SortNext => "sort",
            Action::Revoke => "revoke",
            Action::RevokeAll => "revoke all",
            Action::Refresh => "refresh",
            Action::CycleTheme => "theme",
            Action::SyncNow => "sync now",
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::ToggleOrder => "order",
            Action::Recompute => "recompute",
            Action::CycleFilter => "filter",
            Action::Keep => "keep",
            Action::Reassign => "reassign",
            Action::Shorten => "shorten",
            Action::Reduce => "reduce",
            Action::NextUndecided => "next undecided",
            Action::Back => "back",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn from_event(e: &KeyEvent) -> Key {
        // Shift is part of the character for letters and symbols.
        let mods = if matches!(e.code, KeyCode::Char(_) | KeyCode::BackTab) { e.modifiers - KeyModifiers::SHIFT } else { e.modifiers };
        Key { code: e.code, mods }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let (mods, name) = match s.strip_prefix("ctrl-") {
            Some(rest) if !rest.is_empty() => (KeyModifiers::CONTROL, rest),
            _ => match s.strip_prefix("alt-") {
                Some(rest) if !rest.is_empty() => (KeyModifiers::ALT, rest),
                _ => (KeyModifiers::NONE, s),
            },
        };
        let code = match name {
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "space" => KeyCode::Char(' '),
            one if one.chars().count() == 1 => KeyCode::Char(one.chars().next().unwrap_or(' ')),
            other => return Err(format!("unknown key '{other}'")),
        };
        Ok(Key { code, mods })
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Enter => "enter".to_string(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "backtab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Char(' ') => "space".into(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.mods.contains(KeyModifiers::CONTROL) {
            format!("ctrl-{base}")
        } else if self.mods.contains(KeyModifiers::ALT) {
            format!("alt-{base}")
        } else {
            base
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// view name -> action -> keys.
#[derive(Debug, Clone)]
pub struct Keymap {
    views: BTreeMap<String, BTreeMap<Action, Vec<Key>>>,
}

impl Keymap {
    pub fn default_map() -> Keymap {
        // The embedded file is tested to parse; an empty map would still be usable.
        Keymap::parse(DEFAULT_KEYMAP).unwrap_or(Keymap { views: BTreeMap::new() })
    }

    pub fn parse(text: &str) -> Result<Keymap, String> {
        let raw: BTreeMap<String, BTreeMap<Action, OneOrMany>> = toml::from_str(text).map_err(|e| format!("keymap: {e}"))?;
        let mut views = BTreeMap::new();
        for (view, actions) in raw {
            let mut m = BTreeMap::new();
            for (action, keys) in actions {
                m.insert(action, parse_keys(keys)?);
            }
            views.insert(view, m);
        }
        Ok(Keymap { views })
    }

    /// Overrides from the config, merged action by action.
    pub fn merge(&mut self, overrides: &BTreeMap<String, BTreeMap<String, String>>) -> Result<(), String> {
        for (view, actions) in overrides {
            for (action, keys) in actions {
                let action: Action = serde_json::from_value(serde_json::Value::String(action.clone()))
                    .map_err(|_| format!("[keys.{view}]: unknown action '{action}'"))?;
                let keys = parse_keys(OneOrMany::Many(keys.split_whitespace().map(str::to_string).collect()))?;
                self.views.entry(view.clone()).or_default().insert(action, keys);
            }
        }
        Ok(())
    }

    /// Whether the map has a `[scope]` table of its own.
    pub fn has_table(&self, scope: &str) -> bool {
        self.views.contains_key(scope)
    }

    pub fn action(&self, view: &str, event: &KeyEvent) -> Option<Action> {
        let key = Key::from_event(event);
        for scope in [view, "global"] {
            if let Some((a, _)) = self.views.get(scope).and_then(|actions| actions.iter().find(|(_, keys)| keys.contains(&key))) {
                return Some(*a);
            }
        }
        None
    }

    /// Whether `event` is bound to `action` in `scope` alone (forms: no global fallback).
    pub fn is(&self, scope: &str, action: Action, event: &KeyEvent) -> bool {
        let key = Key::from_event(event);
        self.views.get(scope).and_then(|a| a.get(&action)).is_some_and(|keys| keys.contains(&key))
    }

    /// (keys, action) of a view and the globals, view first: for help and footer.
    pub fn bindings(&self, view: &str) -> Vec<(String, Action)> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for scope in [view, "global"] {
            if let Some(actions) = self.views.get(scope) {
                for (a, keys) in actions {
                    if seen.insert(*a) {
                        out.push((keys.iter().map(Key::label).collect::<Vec<_>>().join(" "), *a));
                    }
                }
            }
        }
        out
    }

    pub fn first_key(&self, view: &str, action: Action) -> Option<String> {
        for scope in [view, "global"] {
            if let Some(k) = self.views.get(scope).and_then(|a| a.get(&action)).and_then(|k| k.first()) {
                return Some(k.label());
            }
        }
        None
    }
}

fn parse_keys(keys: OneOrMany) -> Result<Vec<Key>, String> {
    match keys {
        OneOrMany::One(k) => Ok(vec![Key::parse(&k)?]),
        OneOrMany::Many(ks) => ks.iter().map(|k| Key::parse(k)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn shipped_keymap_parses_and_every_action_has_a_key() {
        let map = Keymap::parse(DEFAULT_KEYMAP).expect("shipped keymap parses");
        let bound: Vec<Action> = map.bindings("credentials").into_iter().map(|(_, a)| a).collect();
        for a in [Action::Quit, Action::Help, Action::Filter, Action::Revoke, Action::SortNext, Action::Detail, Action::Command] {
            assert!(bound.contains(&a), "{a:?} has no key");
        }
    }

    #[test]
    fn view_keys_win_and_globals_apply() {
        let map = Keymap::default_map();
        assert_eq!(map.action("credentials", &ev(KeyCode::Char('r'), KeyModifiers::NONE)), Some(Action::Revoke));
        assert_eq!(map.action("grants", &ev(KeyCode::Char('r'), KeyModifiers::NONE)), None);
        assert_eq!(map.action("grants", &ev(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Quit));
        assert_eq!(map.action("credentials", &ev(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Action::Bottom));
    }

    #[test]
    fn overrides_merge_key_by_key() {
        let mut map = Keymap::default_map();
        let mut o = BTreeMap::new();
        o.insert("credentials".to_string(), BTreeMap::from([("revoke".to_string(), "x ctrl-x".to_string())]));
        map.merge(&o).expect("merges");
        assert_eq!(map.action("credentials", &ev(KeyCode::Char('x'), KeyModifiers::NONE)), Some(Action::Revoke));
        assert_eq!(map.action("credentials", &ev(KeyCode::Char('r'), KeyModifiers::NONE)), None);
        assert_eq!(map.action("credentials", &ev(KeyCode::Char('/'), KeyModifiers::NONE)), Some(Action::Filter));
        let bad = BTreeMap::from([("credentials".to_string(), BTreeMap::from([("explode".to_string(), "x".to_string())]))]);
        assert!(map.merge(&bad).unwrap_err().contains("unknown action 'explode'"));
    }
}
