//! Progress bars on standard error for uploads and downloads, when it is a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lark::http::Progress;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

/// A bar, or nothing when standard error is not a terminal or JSON is wanted.
pub(crate) struct Bar(Option<ProgressBar>);

pub(crate) fn bar(path: &Path, json: bool) -> Bar {
    if json || !std::io::stderr().is_terminal() {
        return Bar(None);
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(
        path.file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned()),
    );
    Bar(Some(bar))
}

impl Bar {
    /// The callback the transfer reports to.
    pub(crate) fn callback(&self) -> Option<Progress> {
        let bar = self.0.clone()?;
        Some(Arc::new(move |done, total| {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }))
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
