//! The IM endpoints: messages, reactions, chats, members, images and files.

pub mod chats;
pub mod members;
pub mod messages;
pub mod model;
pub mod reactions;
pub mod resources;

use crate::error::BuildError;

fn check_page_size(page_size: Option<u32>, max: u32) -> Result<(), BuildError> {
    match page_size {
        Some(size) if size == 0 || size > max => Err(BuildError::InvalidParam {
            field: "page_size",
            reason: format!("is {size}; pages hold 1 to {max} items"),
        }),
        _ => Ok(()),
    }
}
