//! Drawing the screen: status bar with the "Sair" button, message pane, user list, input line,
//! and the modal dialogs. Returns where the clickable parts landed.

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, Dialog, Hitboxes, LineKind};

/// The label of the quit button, as the original assignment named it.
pub const QUIT_LABEL: &str = " Sair (Quit) ";

fn colour(kind: LineKind) -> Style {
    match kind {
        LineKind::Own => Style::default().fg(Color::Cyan),
        LineKind::Public => Style::default(),
        LineKind::Private => Style::default().fg(Color::Magenta),
        LineKind::Presence => Style::default().fg(Color::Yellow),
        LineKind::Error => Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        LineKind::Info => Style::default().fg(Color::Green),
    }
}

/// Splits text into rows of at most `width` characters.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if width == 0 {
        return vec![];
    }
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars.chunks(width).map(|c| c.iter().collect()).collect()
}

/// Draws everything and returns the hitboxes for the mouse.
pub fn draw(frame: &mut Frame, app: &App) -> Hitboxes {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(3),
        ])
        .split(area);
    let quit = status_bar(frame, app, rows[0]);
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Min(20), Constraint::Length(24)])
        .split(rows[1]);
    let messages = message_pane(frame, app, cols[0]);
    user_list(frame, app, cols[1]);
    input_line(frame, app, rows[2]);
    let dialog = match &app.dialog {
        Some(d) => dialog_box(frame, app, d, area),
        None => Vec::new(),
    };
    Hitboxes {
        quit,
        dialog,
        messages,
    }
}

fn status_bar(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let who = match (&app.name, app.addr) {
        (Some(name), Some(addr)) => format!(" {name} @ {addr}  ·  server {}", app.server),
        _ => format!(" not connected  ·  server {}", app.server),
    };
    let bar = Style::default().bg(Color::Blue).fg(Color::White);
    frame.render_widget(Paragraph::new(who).style(bar), area);
    let width = QUIT_LABEL.chars().count() as u16;
    let button = Rect::new(
        area.right().saturating_sub(width),
        area.y,
        width.min(area.width),
        1,
    );
    let style = Style::default()
        .bg(Color::Red)
        .fg(Color::White)
        .add_modifier(Modifier::BOLD);
    frame.render_widget(Paragraph::new(QUIT_LABEL).style(style), button);
    button
}

fn message_pane(frame: &mut Frame, app: &App, area: Rect) -> Rect {
    let title = if app.scroll > 0 {
        format!(" messages (scrolled back {} · PgDn) ", app.scroll)
    } else {
        " messages ".to_string()
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let height = inner.height as usize;
    // Wrap from the newest line backwards only as far as the screen needs.
    let mut rows: Vec<TextLine> = Vec::new();
    let skip = app.scroll;
    for line in app.lines.iter().rev().skip(skip) {
        let time = format!("{} ", line.time);
        let body_width = width.saturating_sub(time.chars().count()).max(1);
        let pieces = wrap(&line.text, body_width);
        for (i, piece) in pieces.into_iter().enumerate().rev() {
            let lead = if i == 0 {
                time.clone()
            } else {
                " ".repeat(time.chars().count())
            };
            rows.push(TextLine::from(vec![
                Span::styled(lead, Style::default().fg(Color::DarkGray)),
                Span::styled(piece, colour(line.kind)),
            ]));
        }
        if rows.len() >= height {
            break;
        }
    }
    rows.truncate(height);
    rows.reverse();
    frame.render_widget(Paragraph::new(rows), inner);
    area
}

fn user_list(frame: &mut Frame, app: &App, area: Rect) {
    let items: Vec<ListItem> = app
        .users
        .iter()
        .map(|u| {
            let me = app.name.as_deref() == Some(u.as_str());
            let style = if me {
                Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            ListItem::new(u.clone()).style(style)
        })
        .collect();
    let title = format!(" users ({}) ", app.users.len());
    frame.render_widget(
        List::new(items).block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

fn input_line(frame: &mut Frame, app: &App, area: Rect) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" message · Enter send · @name private · Tab complete · ↑↓ history · Esc quit ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let text = app.input.text();
    // Keep the cursor visible on long lines.
    let cursor = app.input.cursor();
    let width = inner.width.max(1) as usize;
    let start = cursor.saturating_sub(width.saturating_sub(1));
    let shown: String = text.chars().skip(start).take(width).collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if app.dialog.is_none() {
        frame.set_cursor_position((inner.x + (cursor - start) as u16, inner.y));
    }
}

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn dialog_box(frame: &mut Frame, app: &App, dialog: &Dialog, area: Rect) -> Vec<Rect> {
    let (title, message, name_input, error) = match dialog {
        Dialog::NotRunning { message } => (" Server not running ", message.clone(), None, None),
        Dialog::Lost { message } => (" Connection lost ", message.clone(), None, None),
        Dialog::Name { error, input } => (
            " Choose a name ",
            "Your name (no spaces, no @, at most 32 characters):".to_string(),
            Some(input),
            error.clone(),
        ),
    };
    let rect = centered(area, 64, if name_input.is_some() { 11 } else { 9 });
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(Style::default().fg(Color::Red));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut lines = vec![TextLine::from(message)];
    if let Some(input) = name_input {
        lines.push(TextLine::from(""));
        lines.push(TextLine::from(Span::styled(
            format!("> {}", input.text()),
            Style::default().add_modifier(Modifier::BOLD),
        )));
    }
    if let Some(e) = error {
        lines.push(TextLine::from(Span::styled(
            e,
            Style::default().fg(Color::Red),
        )));
    }
    let text_area = Rect::new(
        inner.x,
        inner.y,
        inner.width,
        inner.height.saturating_sub(2),
    );
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
    if let Some(input) = name_input {
        frame.set_cursor_position((inner.x + 2 + input.cursor() as u16, inner.y + 2));
    }
    let labels = dialog.buttons();
    let mut x = inner.x + 1;
    let y = inner.bottom().saturating_sub(1);
    let mut boxes = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let text = format!("[ {label} ]");
        let w = text.chars().count() as u16;
        let r = Rect::new(x, y, w.min(inner.right().saturating_sub(x)), 1);
        let style = if i == app.focus {
            Style::default()
                .bg(Color::White)
                .fg(Color::Black)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default()
        };
        frame.render_widget(Paragraph::new(text).style(style), r);
        boxes.push(r);
        x += w + 2;
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::app::tests::chatting;
    use batepapo_protocol::ServerMessage;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn render(app: &mut App) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 24)).unwrap();
        let mut boxes = Hitboxes::default();
        terminal.draw(|f| boxes = draw(f, app)).unwrap();
        app.hitboxes = boxes;
        let buffer = terminal.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            for x in 0..buffer.area.width {
                out.push_str(buffer[(x, y)].symbol());
            }
            out.push('\n');
        }
        out
    }

    #[test]
    fn the_sair_button_is_visible_and_clickable_where_drawn() {
        let mut app = chatting();
        let screen = render(&mut app);
        assert!(
            screen.lines().next().unwrap().contains("Sair (Quit)"),
            "{screen}"
        );
        assert_eq!(app.hitboxes.quit.y, 0);
        assert!(app.hitboxes.quit.width > 0);
    }

    #[test]
    fn status_bar_shows_own_name_and_address() {
        let mut app = chatting();
        let screen = render(&mut app);
        assert!(
            screen
                .lines()
                .next()
                .unwrap()
                .contains("alice @ 127.0.0.1:5000"),
            "{screen}"
        );
    }

    #[test]
    fn user_list_follows_join_and_leave() {
        let mut app = chatting();
        app.server_message(&ServerMessage::Join {
            name: "carol".into(),
            addr: "127.0.0.1:6000".parse().unwrap(),
        });
        let screen = render(&mut app);
        assert!(
            screen.contains("users (3)") && screen.contains("carol"),
            "{screen}"
        );
        app.server_message(&ServerMessage::Leave {
            name: "bob".into(),
            addr: "127.0.0.1:5001".parse().unwrap(),
        });
        let screen = render(&mut app);
        assert!(screen.contains("users (2)"), "{screen}");
        assert!(screen.contains("bob left (127.0.0.1:5001)"), "{screen}");
    }

    #[test]
    fn not_running_pop_up_has_its_message_and_buttons() {
        let mut app = App::new("127.0.0.1:7777".into(), None);
        app.connect_failed(
            "cannot connect to 127.0.0.1:7777: the chat server is not running there".into(),
        );
        let screen = render(&mut app);
        assert!(screen.contains("Server not running"), "{screen}");
        assert!(
            screen.contains("the chat server is not") && screen.contains("running there"),
            "{screen}"
        );
        assert!(
            screen.contains("[ Retry ]") && screen.contains("[ Quit ]"),
            "{screen}"
        );
        assert_eq!(app.hitboxes.dialog.len(), 2);
    }

    #[test]
    fn name_pop_up_shows_the_refusal() {
        let mut app = App::new("s".into(), Some("alice".into()));
        app.ask_name(Some("the name alice is already in use".into()));
        let screen = render(&mut app);
        assert!(
            screen.contains("Choose a name") && screen.contains("already in use"),
            "{screen}"
        );
        assert!(screen.contains("> alice"), "{screen}");
    }

    #[test]
    fn messages_are_timestamped_and_long_ones_wrap() {
        let mut app = chatting();
        app.server_message(&ServerMessage::Msg {
            from: "bob".into(),
            text: "x".repeat(150),
        });
        let screen = render(&mut app);
        let rows: Vec<&str> = screen.lines().filter(|l| l.contains("xxxx")).collect();
        assert!(rows.len() >= 2, "{screen}");
        assert!(rows[0].contains(':'), "no timestamp: {screen}");
    }

    #[test]
    fn wrap_splits_by_characters() {
        assert_eq!(wrap("abcdef", 4), ["abcd", "ef"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
