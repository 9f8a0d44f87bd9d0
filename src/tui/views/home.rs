//! What needs attention now: grants waiting, findings by severity, what expires,
//! the issuers and queued revocations, and where to start (the owners and workloads
//! holding the most high-severity findings). Every line is a doorway: Enter opens
//! the view or the filtered table that lists what it counts. The figures load off
//! the input path (`home::load`, also `tokenward home`); the screen shows at once.
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{KeyCtx, Outcome};
use crate::home::Home;
use crate::tui::job::{Job, JobData};
use crate::tui::keymap::Action;
use crate::tui::msg::{Effect, Tone};
use crate::tui::widgets::{safe, step, thousands, Ctx};

pub const NAME: &str = "home";

#[derive(Debug, Clone)]
pub struct HomeView {
    pub home: Option<Home>,
    pub selected: usize,
    /// The approval SLA the grants line calls out.
    pub sla: chrono::Duration,
    /// Since when a count is on its way: a tick does not start another beside it
    /// (at 1,000,000 credentials a count takes about a second), unless it is a
    /// minute old and its answer presumed lost.
    counting: std::cell::Cell<Option<std::time::Instant>>,
}

/// How long a tick waits for a count on its way before it starts another.
const COUNT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for HomeView {
    fn default() -> Self {
        HomeView { home: None, selected: 0, sla: chrono::Duration::minutes(15), counting: Default::default() }
    }
}

/// One line of the home view: a section title, or a figure with where it leads.
enum Entry {
    Title(&'static str),
    Door { text: String, warn: bool, to: Outcome },
}

impl HomeView {
    fn job(&self) -> Job {
        let sla = self.sla;
        Job::new(NAME, "home", move |env| async move { crate::home::load(&env.store, (env.clock)(), sla).await.map_err(|e| e.to_string()) })
    }

    fn entries(&self) -> Vec<Entry> {
        let Some(h) = &self.home else { return Vec::new() };
        let door = |text: String, warn: bool, to: Outcome| Entry::Door { text, warn, to };
        let run = |line: &str| Outcome::Run(line.to_string());
        let mut out = vec![Entry::Title("grants waiting for a decision")];
        let g = &h.grants;
        out.push(door(
            format!("{} pending, {} past the {}-minute SLA", thousands(g.pending), thousands(g.past_sla), g.sla_minutes),
            g.past_sla > 0,
            run("grants"),
        ));
        out.push(Entry::Title("open findings"));
        let f = &h.findings;
        out.push(door(format!("{} high · {} medium · {} low", thousands(f.high), thousands(f.medium), thousands(f.low)), f.high > 0, run("findings")));
        for p in &f.new_in_last_run {
            out.push(door(format!("  {} new in the last recompute: {}", thousands(p.count), safe(&p.name, 60)), false, Outcome::ShowCredentials(format!("finding:{}", p.name))));
        }
        out.push(Entry::Title("expiring"));
        out.push(door(format!("{} active credential(s) expire within 24 hours", thousands(h.expiring.within_24h)), h.expiring.within_24h > 0, run("expiring 24h")));
        out.push(door(format!("{} within 7 days", thousands(h.expiring.within_7d)), false, run("expiring 7d")));
        out.push(Entry::Title("issuers"));
        for i in &h.issuers {
            let failed = i.status == "failed";
            let when = i.last_sync.as_deref().map_or("never synced".to_string(), |t| format!("synced {}", t.get(..16).unwrap_or(t)));
            let error = i.error.as_deref().map(|e| format!(": {}", safe(e, 80))).unwrap_or_default();
            out.push(door(format!("{} · {} credentials · {when} · {}{error}", safe(&i.name, 30), thousands(i.credentials), i.status), failed, run("issuers")));
        }
        out.push(door(format!("{} revocation(s) queued for an unreachable issuer", thousands(h.outbox)), h.outbox > 0, run("issuers")));
        out.push(Entry::Title("where to start: owners with the most high-severity findings on active credentials"));
        for p in &h.owners {
            out.push(door(format!("{:>7}  {}", thousands(p.count), safe(&p.name, 80)), false, Outcome::ShowCredentials(format!("owner:{} status:active", p.name))));
        }
        out.push(Entry::Title("where to start: workloads"));
        for p in &h.workloads {
            out.push(door(format!("{:>7}  {}", thousands(p.count), safe(&p.name, 80)), false, Outcome::ShowCredentials(format!("workload:{} status:active", p.name))));
        }
        out
    }

    fn doors(&self) -> usize {
        self.entries().iter().filter(|e| matches!(e, Entry::Door { .. })).count()
    }

    pub fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        match action {
            Action::Down | Action::Up | Action::PageDown | Action::PageUp | Action::Top | Action::Bottom => {
                self.selected = step(self.selected, ctx.delta(action), self.doors());
                Vec::new()
            }
            Action::Detail => self
                .entries()
                .into_iter()
                .filter_map(|e| match e {
                    Entry::Door { to, .. } => Some(to),
                    Entry::Title(_) => None,
                })
                .nth(self.selected)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        let theme = ctx.theme;
        let mut lines = vec![Line::from(vec![
            Span::styled(" what needs attention", theme.header),
            Span::styled(format!(" · {}", ctx.hints(NAME, &[(Action::Detail, "opens what a line counts")])), theme.muted),
        ])];
        match &self.home {
            None => lines.push(Line::styled("  counting…", theme.muted)),
            // Counted again on every tick: say when these figures are from.
            Some(h) => lines.push(Line::styled(format!("  counted at {} UTC", h.at.get(11..19).unwrap_or(&h.at)), theme.muted)),
        }
        let mut door = 0;
        for e in self.entries() {
            match e {
                Entry::Title(t) => {
                    lines.push(Line::raw(""));
                    lines.push(Line::styled(format!(" {t}"), theme.accent));
                }
                Entry::Door { text, warn, .. } => {
                    let style = if door == self.selected { theme.selection } else if warn { theme.warning } else { theme.text };
                    lines.push(Line::styled(format!("   {text}"), style));
                    door += 1;
                }
            }
        }
        // Keep the selected line on screen.
        let height = area.height as usize;
        let at = lines.iter().position(|l| l.style == theme.selection).unwrap_or(0);
        let skip = at.saturating_sub(height.saturating_sub(2));
        f.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), area);
    }
}

impl super::Pane for HomeView {
    const NAME: &'static str = NAME;
    const FOOTER: &'static [Action] = &[Action::Detail, Action::Command, Action::Help, Action::Quit];

    fn position(&self) -> Option<(usize, usize, &'static str)> {
        Some((self.selected, self.doors(), "lines"))
    }

    fn on_action(&mut self, action: Action, ctx: &KeyCtx) -> Vec<Outcome> {
        HomeView::on_action(self, action, ctx)
    }

    fn draw(&self, f: &mut Frame, ctx: &Ctx, area: Rect) {
        HomeView::draw(self, f, ctx, area)
    }

    fn load(&self) -> Vec<Effect> {
        self.counting.set(Some(std::time::Instant::now()));
        vec![Effect::Load(self.job())]
    }

    /// Live while shown: counted again on every tick (and on any change, as every
    /// view), but never a second count beside one on its way.
    fn on_tick(&self) -> Vec<Effect> {
        match self.counting.get() {
            Some(since) if since.elapsed() < COUNT_PATIENCE => Vec::new(),
            _ => self.load(),
        }
    }

    fn on_data(&mut self, data: JobData) -> Vec<Outcome> {
        self.counting.set(None);
        match data.downcast::<Result<Home, String>>() {
            Ok(r) => match *r {
                Ok(h) => {
                    self.home = Some(h);
                    self.selected = self.selected.min(self.doors().saturating_sub(1));
                    Vec::new()
                }
                Err(e) => vec![Outcome::Status(Tone::Error, format!("home: {e}"))],
            },
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::views::Pane;

    #[test]
    fn a_tick_starts_no_count_beside_one_on_its_way() {
        let mut home = HomeView::default();
        assert_eq!(home.on_tick().len(), 1, "nothing on its way: the tick counts");
        assert!(home.on_tick().is_empty(), "the count is on its way");
        // A change (or the view opened again) always counts.
        assert_eq!(home.load().len(), 1);
        home.on_data(Box::new(Err::<Home, String>("gone".into())));
        assert_eq!(home.on_tick().len(), 1, "the answer came, even a failure: the next tick counts again");
        home.counting.set(Some(std::time::Instant::now() - COUNT_PATIENCE));
        assert_eq!(home.on_tick().len(), 1, "an answer a minute late is presumed lost");
    }
}
