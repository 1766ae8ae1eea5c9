//! The IM endpoints: messages, reactions, pins, read receipts, urgent messages, threads,
//! chats, members, images and files.

pub mod chat_settings;
pub mod chats;
pub mod members;
pub mod messages;
pub mod model;
pub mod pins;
pub mod reactions;
pub mod receipts;
pub mod resources;
pub mod tabs_menus;
pub mod threads;
pub mod urgent;

use crate::error::BuildError;

/// Refuses an empty id, which the platform would read as a missing one.
fn check_id(field: &'static str, id: &str) -> Result<(), BuildError> {
    if id.trim().is_empty() {
        return Err(BuildError::InvalidParam {
            field,
            reason: "is empty; pass the id the platform returned".to_owned(),
        });
    }
    Ok(())
}
