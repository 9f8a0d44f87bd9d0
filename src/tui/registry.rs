//! What one line of the view table in `commands.rs` generates: `view_registry!`
//! makes the `View` identity and the `Views` the app holds, with the dispatch the
//! app and the screen call; `views!` adds each view's `:` command to `COMMANDS`.
//! Item names (`Command`, `Opens`) resolve where the macro is invoked.

/// `Variant field: Type;` per view, in tab order: the `View` enum (`ALL`, `name`,
/// `named`, `footer`) and `Views`, one field per view, dispatching to its `Pane`.
macro_rules! view_registry {
    ($($variant:ident $field:ident: $ty:ty;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum View {
            $($variant,)+
        }

        impl View {
            pub const ALL: &'static [View] = &[$(View::$variant,)+];

            /// The view's name: its tab, its `:` command and its keymap table.
            pub fn name(self) -> &'static str {
                match self {
                    $(View::$variant => <$ty as $crate::tui::views::Pane>::NAME,)+
                }
            }

            /// The registered view of this name.
            pub fn named(name: &str) -> Option<View> {
                View::ALL.iter().copied().find(|v| v.name() == name)
            }

            /// The kind of decision `action` takes in this view, if any.
            #[allow(dead_code, reason = "a registry of test views takes no decisions")]
            pub fn act_of(self, action: $crate::tui::keymap::Action) -> Option<$crate::actions::Act> {
                match self {
                    $(View::$variant => <$ty as $crate::tui::views::Pane>::act_of(action),)+
                }
            }

            /// The actions its footer names, in order.
            pub fn footer(self) -> &'static [$crate::tui::keymap::Action] {
                match self {
                    $(View::$variant => <$ty as $crate::tui::views::Pane>::FOOTER,)+
                }
            }
        }

        /// Every view's state, one field per registered view.
        #[derive(Default)]
        pub struct Views {
            $(pub $field: $ty,)+
        }

        impl Views {
            pub fn on_action(&mut self, view: View, action: $crate::tui::keymap::Action, ctx: &$crate::tui::views::KeyCtx) -> Vec<$crate::tui::views::Outcome> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::on_action(&mut self.$field, action, ctx),)+
                }
            }

            pub fn draw(&self, view: View, f: &mut ratatui::Frame, ctx: &$crate::tui::widgets::Ctx, area: ratatui::layout::Rect) {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::draw(&self.$field, f, ctx, area),)+
                }
            }

            /// What to load when the view's command opens it.
            pub fn open(&self, view: View) -> Vec<$crate::tui::msg::Effect> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::open(&self.$field),)+
                }
            }

            /// The view's own data, on a refresh.
            pub fn load(&self, view: View) -> Vec<$crate::tui::msg::Effect> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::load(&self.$field),)+
                }
            }

            /// The view's command with arguments; `None` when it takes none.
            pub fn command(&mut self, view: View, args: &[&str], ctx: &$crate::tui::views::KeyCtx) -> Option<Vec<$crate::tui::views::Outcome>> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::command(&mut self.$field, args, ctx),)+
                }
            }

            pub fn on_tick(&self, view: View) -> Vec<$crate::tui::msg::Effect> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::on_tick(&self.$field),)+
                }
            }

            pub fn position(&self, view: View) -> Option<(usize, usize, &'static str)> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::position(&self.$field),)+
                }
            }

            pub fn tab_spans(&self, view: View, theme: &$crate::tui::theme::Theme) -> Vec<ratatui::text::Span<'static>> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::tab_spans(&self.$field, theme),)+
                }
            }

            /// A job's answer, to the view that built the job (by its name); dropped if none did.
            pub fn on_data(&mut self, view: &str, data: $crate::tui::job::JobData) -> Vec<$crate::tui::views::Outcome> {
                $(if view == <$ty as $crate::tui::views::Pane>::NAME {
                    return $crate::tui::views::Pane::on_data(&mut self.$field, data);
                })+
                Vec::new()
            }
        }
    };
}
pub(crate) use view_registry;

/// The view table and the other commands: `view_registry!` for the views, and
/// `COMMANDS` with each view's command first (by its `Pane::NAME`), then `$other`.
macro_rules! views {
    (
        $($variant:ident $field:ident: $ty:ty, [$($alias:literal),*], $args:literal, $help:literal;)+
        [$($other:expr,)*]
    ) => {
        $crate::tui::registry::view_registry! { $($variant $field: $ty;)+ }

        /// Views first, in tab order: a view is reached by any prefix of two letters or more.
        pub const COMMANDS: &[Command] = &[
            $(Command {
                name: <$ty as $crate::tui::views::Pane>::NAME,
                aliases: &[$($alias),*],
                args: $args,
                opens: Opens::View(View::$variant),
                help: $help,
            },)+
            $($other,)*
        ];
    };
}
pub(crate) use views;

#[cfg(test)]
mod tests {
    use ratatui::layout::Rect;
    use ratatui::widgets::Paragraph;
    use ratatui::Frame;

    use crate::tui::job::{Env, Job, JobData};
    use crate::tui::keymap::Action;
    use crate::tui::msg::{Effect, Msg};
    use crate::tui::views::{credentials::CredentialsView, KeyCtx, Outcome, Pane};
    use crate::tui::theme::Theme;
    use crate::tui::widgets::Ctx;

    /// A view no other code knows: its file would hold just this, and it needs no Effect or Msg of its own.
    #[derive(Default)]
    pub struct ProbeView {
        total: Option<Result<i64, String>>,
    }

    impl Pane for ProbeView {
        const NAME: &'static str = "probe";
        const FOOTER: &'static [Action] = &[Action::Refresh, Action::Quit];

        fn on_action(&mut self, action: Action, _ctx: &KeyCtx) -> Vec<Outcome> {
            match action {
                Action::Back => vec![Outcome::Home],
                _ => Vec::new(),
            }
        }

        fn draw(&self, f: &mut Frame, _ctx: &Ctx, area: Rect) {
            f.render_widget(Paragraph::new(format!("{:?}", self.total)), area);
        }

        fn load(&self) -> Vec<Effect> {
            let count = |env: Env| async move { env.store.count(&crate::filter::Query::default(), (env.clock)()).await.map_err(|e| e.to_string()) };
            vec![Effect::Load(Job::new(Self::NAME, "count", count))]
        }

        fn on_data(&mut self, data: JobData) -> Vec<Outcome> {
            if let Ok(total) = data.downcast::<Result<i64, String>>() {
                self.total = Some(*total);
            }
            Vec::new()
        }
    }

    view_registry! {
        Credentials credentials: CredentialsView;
        Probe probe: ProbeView;
    }

    #[tokio::test]
    async fn a_new_view_loads_its_own_data_through_load_and_data() {
        let store = crate::store::Store::open_in_memory().await.expect("store");
        let actions = crate::actions::Actions::new(store.clone(), &[], "ana@acme.test", false);
        let env = Env { store, actions, thresholds: Default::default(), clock: chrono::Utc::now };
        let mut views = Views::default();
        assert_eq!((View::named("probe"), View::Probe.name(), View::Probe.footer()), (Some(View::Probe), "probe", ProbeView::FOOTER));
        assert_eq!(views.position(View::Probe), None, "a view that says no place of its own");

        let fx = views.open(View::Probe);
        assert_eq!(format!("{fx:?}"), "[Load(Job(probe: count))]");
        assert_eq!(fx, views.load(View::Probe), "jobs compare by view and label");
        let (progress, _events) = tokio::sync::mpsc::channel(8);
        let mut replies = Vec::new();
        for effect in fx {
            replies.extend(crate::tui::effects::execute(effect, &env, &progress).await);
        }
        assert!(views.probe.total.is_none());
        for msg in replies {
            let Msg::Data { view, data } = msg else { panic!("a job answers with Msg::Data, not {msg:?}") };
            assert_eq!(view, "probe");
            assert!(views.on_data(view, data).is_empty());
        }
        assert_eq!(views.probe.total, Some(Ok(0)), "the count of the empty store landed in the probe");

        // An answer for no registered view, or of a type the view does not expect, changes nothing.
        assert!(views.on_data("nowhere", Box::new(Ok::<i64, String>(7))).is_empty());
        views.on_data("probe", Box::new("not a count"));
        assert_eq!(views.probe.total, Some(Ok(0)));
        assert!(matches!(views.on_action(View::Probe, Action::Back, &key_ctx()).as_slice(), [Outcome::Home]));
        assert!(views.command(View::Probe, &["ignored"], &key_ctx()).is_none(), "a view that takes no arguments is just opened");
        assert!(views.on_tick(View::Probe).is_empty() && views.tab_spans(View::Probe, &Theme::monochrome()).is_empty());

        // And it draws from the data that landed.
        let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(40, 3)).expect("terminal");
        let ctx = Ctx { theme: &Theme::monochrome(), keymap: key_ctx().keymap, now: chrono::Utc::now() };
        terminal.draw(|f| views.draw(View::Probe, f, &ctx, f.area())).expect("draw");
        let screen: String = terminal.backend().buffer().content().iter().map(|c| c.symbol()).collect();
        assert!(screen.contains("Some(Ok(0))"), "{screen}");
    }

    fn key_ctx() -> KeyCtx<'static> {
        static KEYMAP: std::sync::LazyLock<crate::tui::keymap::Keymap> = std::sync::LazyLock::new(crate::tui::keymap::Keymap::default_map);
        static NOTHING_REFUSED: std::sync::LazyLock<crate::actions::Permissions> = std::sync::LazyLock::new(Default::default);
        KeyCtx { now: chrono::Utc::now(), may: &NOTHING_REFUSED, page: 10, keymap: &KEYMAP, filter: "" }
    }
}
