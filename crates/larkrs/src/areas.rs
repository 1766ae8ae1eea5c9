//! The calls, by area. Each is a thin, typed shortcut over one `lark-api` endpoint; anything
//! they do not cover runs through [`Client::execute`] with the endpoint itself.

use crate::Client;
use crate::call::{Call, List, Upload};
use lark_api::im::chats::{ChatUpdate, CreateChat, DeleteChat, GetChat, ListChats, UpdateChat};
use lark_api::im::members::{
    AddMembers, AddMembersOutput, IsInChat, ListMembers, RemoveMembers, RemoveMembersOutput,
};
use lark_api::im::messages::{
    Container, EditMessage, ForwardMessage, GetMessage, GetMessageResource, ListMessages,
    PatchCard, RecallMessage, ReplyMessage, SendMessage,
};
use lark_api::im::model::{Chat, Message, Reaction};
use lark_api::im::pins::{ListPins, Pin, PinMessage, UnpinMessage};
use lark_api::im::reactions::{AddReaction, DeleteReaction, ListReactions};
use lark_api::im::receipts::ReadUsers;
use lark_api::im::resources::{DownloadFile, DownloadImage, UploadFile, UploadImage};
use lark_api::im::urgent::{InApp, Urgent, UrgentOutput};
use lark_api::{Receiver, UploadData};
use lark_content::{
    Card, ChatId, FileKey, ImageKey, MessageContent, MessageId, OpenId, ReactionId,
};
use lark_http::{DownloadStream, Error, Items, Saved};
use std::path::Path;

/// Messages: `client.messages()`.
#[derive(Clone, Copy, Debug)]
pub struct Messages<'a> {
    client: &'a Client,
}

impl<'a> Messages<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Sends `content` to a chat or a user. A `&str` or `String` is sent as text.
    ///
    /// The send carries an idempotency uuid, so a retry after a lost answer never posts twice
    /// (`.uuid(…)` sets your own). The answer gives the new message's id at once and reads the
    /// rest of the echoed message on first use
    /// ([`SentMessage`](lark_api::im::model::SentMessage) derefs to [`Message`]).
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use lark::ChatId;
    /// let sent = client.messages().send(ChatId::new("oc_5ad11d72b830411d72b836c20"), "deploy finished").await?;
    /// println!("{}", sent.message_id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(
        &self,
        to: impl Into<Receiver>,
        content: impl Into<MessageContent>,
    ) -> Call<'a, SendMessage> {
        Call::new(self.client, SendMessage::new(to, content))
    }

    /// Replies to a message; `.in_thread()` replies in its thread, starting one if needed.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, question: lark::MessageId) -> Result<(), lark::Error> {
    /// client.messages().reply(&question, "on it").in_thread().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn reply(
        &self,
        message: &MessageId,
        content: impl Into<MessageContent>,
    ) -> Call<'a, ReplyMessage> {
        Call::new(self.client, ReplyMessage::new(message.clone(), content))
    }

    /// Replaces the content of a text or post message the bot sent.
    pub async fn edit(
        &self,
        message: &MessageId,
        content: impl Into<MessageContent>,
    ) -> Result<Message, Error> {
        self.client
            .execute(EditMessage::new(message.clone(), content))
            .await
    }

    /// Replaces a card the bot sent.
    pub async fn update_card(
        &self,
        message: &MessageId,
        card: impl Into<Card>,
    ) -> Result<(), Error> {
        self.client
            .execute(PatchCard::new(message.clone(), card))
            .await
    }

    /// Recalls a message.
    pub async fn recall(&self, message: &MessageId) -> Result<(), Error> {
        self.client
            .execute(RecallMessage::new(message.clone()))
            .await
    }

    /// Reads one message.
    pub async fn get(&self, message: &MessageId) -> Result<Message, Error> {
        let mut messages = self
            .client
            .execute(GetMessage::new(message.clone()))
            .await?;
        if messages.is_empty() {
            return Err(Error::MissingInAnswer {
                what: format!("the message {message}"),
                log_id: None,
            });
        }
        Ok(messages.swap_remove(0))
    }

    /// Forwards a message to a chat or a user.
    pub fn forward(
        &self,
        message: &MessageId,
        to: impl Into<Receiver>,
    ) -> Call<'a, ForwardMessage> {
        Call::new(self.client, ForwardMessage::new(message.clone(), to))
    }

    /// A chat's or a thread's history, oldest first, as a stream that fetches a page at a time
    /// as it is read; `.newest_first()`, `.since(…)`, `.until(…)` and `.page_size(…)` change it.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// use lark::ChatId;
    /// let recent: Vec<_> = client
    ///     .messages()
    ///     .history(ChatId::new("oc_5ad11d72b830411d72b836c20"))
    ///     .newest_first()
    ///     .try_collect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn history(&self, container: impl Into<Container>) -> List<'a, ListMessages> {
        List::new(self.client, ListMessages::new(container))
    }

    /// Adds a reaction (`"THUMBSUP"`, `"SMILE"`, … the platform's emoji types).
    pub async fn react(
        &self,
        message: &MessageId,
        emoji_type: impl Into<String>,
    ) -> Result<Reaction, Error> {
        self.client
            .execute(AddReaction::new(message.clone(), emoji_type))
            .await
    }

    /// Removes a reaction the bot added.
    pub async fn unreact(
        &self,
        message: &MessageId,
        reaction: &ReactionId,
    ) -> Result<Reaction, Error> {
        self.client
            .execute(DeleteReaction::new(message.clone(), reaction.clone()))
            .await
    }

    /// A message's reactions.
    #[must_use]
    pub fn reactions(&self, message: &MessageId) -> Items<ListReactions> {
        self.client.items(ListReactions::new(message.clone()))
    }

    /// Pins a message in its chat; a message already pinned answers with its pin.
    pub async fn pin(&self, message: &MessageId) -> Result<Pin, Error> {
        self.client.execute(PinMessage::new(message.clone())).await
    }

    /// Unpins a message; one that is not pinned is left as it is.
    pub async fn unpin(&self, message: &MessageId) -> Result<(), Error> {
        self.client
            .execute(UnpinMessage::new(message.clone()))
            .await
    }

    /// Who has read a message the bot sent in the last seven days, by open_id, fetched a page
    /// at a time as the stream is read.
    #[must_use]
    pub fn read_users(&self, message: &MessageId) -> Items<ReadUsers> {
        self.client.items(ReadUsers::new(message.clone()))
    }

    /// Makes a message the bot sent urgent in the app for `users` (open_ids of members of its
    /// chat); answers with the ids it could not reach. By SMS or phone:
    /// `client.execute(Urgent::<BySms>::new(…))` with [`lark_api::im::urgent`].
    pub async fn urgent(
        &self,
        message: &MessageId,
        users: impl IntoIterator<Item = OpenId>,
    ) -> Result<UrgentOutput, Error> {
        let users: Vec<String> = users.into_iter().map(|id| id.as_str().to_owned()).collect();
        self.client
            .execute(Urgent::<InApp>::new(message.clone(), users))
            .await
    }
}

/// Chats: `client.chats()`.
#[derive(Clone, Copy, Debug)]
pub struct Chats<'a> {
    client: &'a Client,
}

impl<'a> Chats<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// A chat's pins, newest first, fetched a page at a time as the stream is read.
    #[must_use]
    pub fn pins(&self, chat: &ChatId) -> Items<ListPins> {
        self.client.items(ListPins::new(chat.clone()))
    }

    /// Creates a group chat named `name` with the bot in it; `.members(…)` invites users and
    /// `.description(…)` describes it.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client, tom: lark::OpenId) -> Result<(), lark::Error> {
    /// let chat = client.chats().create("incident 42").members([tom]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(&self, name: impl Into<String>) -> Call<'a, CreateChat> {
        Call::new(self.client, CreateChat::new(name))
    }

    /// A chat's details.
    pub async fn get(&self, chat: &ChatId) -> Result<Chat, Error> {
        self.client.execute(GetChat::new(chat.clone())).await
    }

    /// Renames a chat.
    pub async fn rename(&self, chat: &ChatId, name: impl Into<String>) -> Result<(), Error> {
        self.client
            .execute(UpdateChat::rename(chat.clone(), name))
            .await
    }

    /// Updates a chat's name, description or settings.
    pub async fn update(&self, chat: &ChatId, update: ChatUpdate) -> Result<(), Error> {
        self.client
            .execute(UpdateChat::new(chat.clone(), update))
            .await
    }

    /// Disbands a chat the bot owns.
    pub async fn delete(&self, chat: &ChatId) -> Result<(), Error> {
        self.client.execute(DeleteChat::new(chat.clone())).await
    }

    /// The chats the bot is in.
    #[must_use]
    pub fn list(&self) -> Items<ListChats> {
        self.client.items(ListChats::new())
    }
}

/// Chat members: `client.members()`.
#[derive(Clone, Copy, Debug)]
pub struct Members<'a> {
    client: &'a Client,
}

impl<'a> Members<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Adds users to a chat (at most 50 at a time).
    pub async fn add(
        &self,
        chat: &ChatId,
        users: impl IntoIterator<Item = OpenId>,
    ) -> Result<AddMembersOutput, Error> {
        self.client
            .execute(AddMembers::open_ids(chat.clone(), users))
            .await
    }

    /// Removes users from a chat.
    pub async fn remove(
        &self,
        chat: &ChatId,
        users: impl IntoIterator<Item = OpenId>,
    ) -> Result<RemoveMembersOutput, Error> {
        self.client
            .execute(RemoveMembers::open_ids(chat.clone(), users))
            .await
    }

    /// A chat's members (users; the platform leaves bots out).
    #[must_use]
    pub fn list(&self, chat: &ChatId) -> Items<ListMembers> {
        self.client.items(ListMembers::new(chat.clone()))
    }

    /// Whether the bot is in a chat.
    pub async fn bot_is_in(&self, chat: &ChatId) -> Result<bool, Error> {
        self.client.execute(IsInChat::new(chat.clone())).await
    }
}

/// Images: `client.images()`.
#[derive(Clone, Copy, Debug)]
pub struct Images<'a> {
    client: &'a Client,
}

impl<'a> Images<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Uploads the image at `path` (at most 10 MB), streamed from disk; `.progress(…)`
    /// reports the bytes sent.
    pub fn upload(&self, path: impl AsRef<Path>) -> Upload<'a, ImageKey> {
        Upload::new(self.client, path.as_ref().to_path_buf())
    }

    /// Uploads an image held in memory.
    pub async fn upload_bytes(
        &self,
        file_name: impl Into<String>,
        bytes: impl Into<bytes::Bytes>,
    ) -> Result<ImageKey, Error> {
        self.client
            .execute(UploadImage::new(file_name, UploadData::Bytes(bytes.into())))
            .await
    }

    /// Downloads an image the bot uploaded into `path`, which must not exist yet (see
    /// [`lark_http::Client::download_to_file_with`] to replace a file).
    pub async fn download(&self, image: &ImageKey, path: impl AsRef<Path>) -> Result<Saved, Error> {
        self.client
            .http()
            .download_to_file(DownloadImage::new(image.clone()), path, None)
            .await
    }
}

/// Files: `client.files()`.
#[derive(Clone, Copy, Debug)]
pub struct Files<'a> {
    client: &'a Client,
}

impl<'a> Files<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Uploads the file at `path` (at most 30 MB), streamed from disk; `.progress(…)` reports
    /// the bytes sent. `.opus` uploads as audio and `.mp4` as video; the name is kept.
    pub fn upload(&self, path: impl AsRef<Path>) -> Upload<'a, FileKey> {
        Upload::new(self.client, path.as_ref().to_path_buf())
    }

    /// Uploads a file held in memory; `file_name` (with its extension) sets its type.
    pub async fn upload_bytes(
        &self,
        file_name: impl Into<String>,
        bytes: impl Into<bytes::Bytes>,
    ) -> Result<FileKey, Error> {
        self.client
            .execute(UploadFile::new(file_name, UploadData::Bytes(bytes.into())))
            .await
    }

    /// Downloads a file the bot uploaded into `path`, which must not exist yet.
    pub async fn download(&self, file: &FileKey, path: impl AsRef<Path>) -> Result<Saved, Error> {
        self.client
            .http()
            .download_to_file(DownloadFile::new(file.clone()), path, None)
            .await
    }

    /// Downloads an image inside a received message into `path`, which must not exist yet.
    pub async fn download_message_image(
        &self,
        message: &MessageId,
        image: &ImageKey,
        path: impl AsRef<Path>,
    ) -> Result<Saved, Error> {
        self.client
            .http()
            .download_to_file(
                GetMessageResource::image(message.clone(), image),
                path,
                None,
            )
            .await
    }

    /// Downloads a file, audio or video inside a received message into `path`, which must not
    /// exist yet.
    pub async fn download_message_file(
        &self,
        message: &MessageId,
        file: &FileKey,
        path: impl AsRef<Path>,
    ) -> Result<Saved, Error> {
        self.client
            .http()
            .download_to_file(
                GetMessageResource::file(message.clone(), file.clone()),
                path,
                None,
            )
            .await
    }

    /// A file inside a received message, as a stream of bytes.
    pub async fn stream_message_file(
        &self,
        message: &MessageId,
        file: &FileKey,
    ) -> Result<DownloadStream, Error> {
        self.client
            .http()
            .download(
                GetMessageResource::file(message.clone(), file.clone()),
                None,
            )
            .await
    }
}
