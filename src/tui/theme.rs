//! Colours by role. Themes are TOML files (`themes/*.toml`, shipped ones are
//! embedded); a theme may name a parent and override only some roles.
use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    parent: Option<String>,
    #[serde(default)]
    colors: BTreeMap<String, String>,
}

/// The roles a view may ask for; no view names a colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub accent: Style,
    pub header: Style,
    pub border: Style,
    pub selection: Style,
    pub ok: Style,
    pub warning: Style,
    pub danger: Style,
    pub info: Style,
    pub bar: Style,
}

const ROLES: &[&str] = &[
    "text", "muted", "accent", "header", "border", "selection_bg", "selection_fg", "ok", "warning", "danger", "info", "bar_bg", "bar_fg",
];

impl Theme {
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// A shipped theme by name, or a theme file by path.
    pub fn load(name_or_path: &str) -> Result<Theme, String> {
        let colors = resolve(name_or_path, 0)?;
        Ok(Theme::from_colors(name_or_path, &colors))
    }

    /// NO_COLOR: no colour at all, only weight and reversal to mark roles.
    pub fn monochrome() -> Theme {
        let plain = Style::default();
        Theme {
            name: "no-color".into(),
            text: plain,
            muted: plain.add_modifier(Modifier::DIM),
            accent: plain.add_modifier(Modifier::BOLD),
            header: plain.add_modifier(Modifier::BOLD),
            border: plain,
            selection: plain.add_modifier(Modifier::REVERSED),
            ok: plain,
            warning: plain.add_modifier(Modifier::BOLD),
            danger: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            info: plain,
            bar: plain.add_modifier(Modifier::REVERSED),
        }
    }

    fn from_colors(name: &str, c: &BTreeMap<String, Color>) -> Theme {
        let fg = |role: &str| Style::default().fg(c.get(role).copied().unwrap_or(Color::Reset));
        Theme {
            name: name.to_string(),
            text: fg("text"),
            muted: fg("muted"),
            accent: fg("accent"),
            header: fg("header").add_modifier(Modifier::BOLD),
            border: fg("border"),
            selection: fg("selection_fg").bg(c.get("selection_bg").copied().unwrap_or(Color::Reset)).add_modifier(Modifier::BOLD),
            ok: fg("ok"),
            warning: fg("warning"),
            danger: fg("danger").add_modifier(Modifier::BOLD),
            info: fg("info"),
            bar: fg("bar_fg").bg(c.get("bar_bg").copied().unwrap_or(Color::Reset)),
        }
    }
}

fn resolve(name_or_path: &str, depth: usize) -> Result<BTreeMap<String, Color>, String> {
    if depth > 4 {
        return Err(format!("theme '{name_or_path}': parent chain too deep"));
    }
    let text = match BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
        Some((_, t)) => t.to_string(),
        None => std::fs::read_to_string(name_or_path).map_err(|e| {
            format!("unknown theme '{name_or_path}' (built in: {}; or a path to a .toml file): {e}", Theme::builtin_names().join(", "))
        })?,
    };
    let file: ThemeFile = toml::from_str(&text).map_err(|e| format!("theme '{name_or_path}': {e}"))?;
    let mut colors = match &file.parent {
        Some(p) => resolve(p, depth + 1)?,
        None => BTreeMap::new(),
    };
    for (role, value) in &file.colors {
        if !ROLES.contains(&role.as_str()) {
            return Err(format!("theme '{}': unknown role '{role}' (roles: {})", file.name, ROLES.join(", ")));
        }
        let color = Color::from_str(value).map_err(|_| format!("theme '{}': role {role}: '{value}' is not a colour", file.name))?;
        colors.insert(role.clone(), color);
    }
    Ok(colors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_parses_and_sets_every_role() {
        for (name, _) in BUILTIN {
            let colors = resolve(name, 0).expect("shipped theme parses");
            for role in ROLES {
                assert!(colors.contains_key(*role), "theme {name} lacks role {role}");
            }
        }
    }

    #[test]
    fn unknown_roles_and_colours_are_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("t.toml");
        std::fs::write(&p, "name = \"t\"\nparent = \"dark\"\n[colors]\nsparkle = \"red\"\n").expect("write");
        assert!(Theme::load(p.to_str().expect("utf8")).unwrap_err().contains("unknown role 'sparkle'"));
        std::fs::write(&p, "name = \"t\"\nparent = \"dark\"\n[colors]\ntext = \"blurple\"\n").expect("write");
        assert!(Theme::load(p.to_str().expect("utf8")).unwrap_err().contains("not a colour"));
        std::fs::write(&p, "name = \"t\"\nparent = \"dark\"\n[colors]\ntext = \"red\"\n").expect("write");
        let t = Theme::load(p.to_str().expect("utf8")).expect("loads");
        assert_eq!(t.text.fg, Some(Color::Red));
        assert_eq!(t.accent, Theme::load("dark").expect("dark").accent);
    }
}
