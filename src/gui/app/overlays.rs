//! Quick switcher, new chat and search.

#[allow(clippy::wildcard_imports)]
use super::*;

impl App {
    pub(super) fn shortcut(&mut self, s: Shortcut) -> Task<Message> {
        if !matches!(self.phase, Phase::Ready) {
            return Task::none();
        }
        match s {
            Shortcut::Switcher => self.open_overlay(OverlayKind::Switcher),
            Shortcut::NewChat => self.open_overlay(OverlayKind::NewChat),
            Shortcut::Search => self.open_overlay(OverlayKind::Search),
            Shortcut::Escape => {
                if self.overlay.take().is_some() {
                } else if self.chat.as_ref().is_some_and(|c| c.editing.is_some()) {
                    return self.update(Message::CancelEdit);
                } else if self.chat.as_ref().is_some_and(|c| c.details) {
                    return self.update(Message::ToggleDetails);
                } else if self.screen != Screen::Chats && !self.config.accounts.is_empty() {
                    self.screen = Screen::Chats;
                }
                Task::none()
            }
        }
    }

    pub(super) fn open_overlay(&mut self, kind: OverlayKind) -> Task<Message> {
        if self.config.accounts.is_empty() {
            return Task::none();
        }
        self.overlay = Some(Overlay {
            kind,
            query: String::new(),
            hits: Vec::new(),
            account: self
                .chat
                .as_ref()
                .map(|c| c.account.clone())
                .or_else(|| self.config.accounts.first().map(|a| a.jid.clone())),
            error: None,
        });
        operation::focus(OVERLAY_INPUT)
    }

    pub(super) fn overlay_query(&mut self, q: String) -> Task<Message> {
        let Some(o) = &mut self.overlay else {
            return Task::none();
        };
        o.query = q.clone();
        o.error = None;
        if o.kind != OverlayKind::Search || q.trim().is_empty() {
            o.hits.clear();
            return Task::none();
        }
        let Some(backend) = &self.backend else {
            return Task::none();
        };
        let query = q.clone();
        Task::perform(
            backend.read(move |s| s.search(None, &query, 50)),
            move |r| Message::SearchResults(q.clone(), r),
        )
    }

    /// Enter in the new-chat box or the switcher.
    pub(super) fn start_chat(&mut self) -> Task<Message> {
        let Some(o) = &self.overlay else {
            return Task::none();
        };
        let target = match o.kind {
            OverlayKind::Switcher => crate::gui::view::overlay::switcher_matches(self, &o.query)
                .into_iter()
                .next()
                .map(|(a, p)| (a, p, None)),
            OverlayKind::NewChat => {
                let Some(account) = o.account.clone() else {
                    return Task::none();
                };
                match o.query.trim().parse::<BareJid>() {
                    Ok(peer) if peer.node().is_some() && peer != account => {
                        Some((account, peer, None))
                    }
                    _ => {
                        if let Some(o) = &mut self.overlay {
                            o.error = Some(
                                "Type your contact's whole address, like bob@example.org.".into(),
                            );
                        }
                        return Task::none();
                    }
                }
            }
            OverlayKind::Search => o.hits.first().and_then(|hit| {
                let m = &hit.message;
                match (m.account.parse(), m.peer.parse()) {
                    (Ok(a), Ok(p)) => Some((a, p, Some(m.id))),
                    _ => None,
                }
            }),
        };
        match target {
            Some((account, peer, at)) => self.open(account, peer, at),
            None => Task::none(),
        }
    }
}
