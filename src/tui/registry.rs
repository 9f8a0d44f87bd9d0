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

            pub fn on_tick(&self, view: View) -> Vec<$crate::tui::msg::Effect> {
                match view {
                    $(View::$variant => $crate::tui::views::Pane::on_tick(&self.$field),)+
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
