//! Cards updated after their callback was answered, with the token the callback carried.

use crate::answer::Nothing;
use crate::answer::endpoint;
use crate::endpoint::Body;
use crate::error::BuildError;
use crate::secret::CardUpdateToken;
use lark_content::Card;

/// `POST /open-apis/interactive/v1/card/update`: replaces a card that a user acted on, up to 30
/// minutes after the callback and at most twice per token. For a card that is answered at
/// once, answer the callback with the new card instead.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct DelayedCardUpdate {
    /// The callback's token.
    pub token: CardUpdateToken,
    /// The new card.
    pub card: Card,
}

impl DelayedCardUpdate {
    /// Replaces the card the callback with `token` came from by `card`.
    pub fn new(token: impl Into<CardUpdateToken>, card: impl Into<Card>) -> Self {
        Self {
            token: token.into(),
            card: card.into(),
        }
    }
}

endpoint!(DelayedCardUpdate: POST "/open-apis/interactive/v1/card/update" => Nothing {
    fn body(&self) -> Result<Body, BuildError> {
        if self.token.is_empty() {
            return Err(BuildError::InvalidParam {
                field: "token",
                reason: "is empty; pass the token of the card callback".to_owned(),
            });
        }
        // Validates the card as a message would be: the same size and shape rules.
        lark_content::MessageContent::card(self.card.clone()).encode_validated()?;
        Ok(Body::json(&serde_json::json!({
            "token": self.token.expose(),
            "card": self.card,
        })))
    }
});
