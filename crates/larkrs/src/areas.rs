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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().edit(&message, "fixed a typo").await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let card = lark::content::card::CardV1::builder()
    ///     .element(lark::content::card::Markdown::new("**approved**"))
    ///     .build();
    /// client.messages().update_card(&message, card).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().recall(&message).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recall(&self, message: &MessageId) -> Result<(), Error> {
        self.client
            .execute(RecallMessage::new(message.clone()))
            .await
    }

    /// Reads one message.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let got = client.messages().get(&message).await?;
    /// println!("{} says {:?}", got.message_id, got.content());
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// client.messages().forward(&message, chat).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let reaction = client.messages().react(&message, "THUMBSUP").await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let reaction = client.messages().react(&message, "THUMBSUP").await?;
    /// client.messages().unreact(&message, &reaction.reaction_id).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let all: Vec<_> = client.messages().reactions(&message).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn reactions(&self, message: &MessageId) -> Items<ListReactions> {
        self.client.items(ListReactions::new(message.clone()))
    }

    /// Pins a message in its chat; a message already pinned answers with its pin.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let pin = client.messages().pin(&message).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn pin(&self, message: &MessageId) -> Result<Pin, Error> {
        self.client.execute(PinMessage::new(message.clone())).await
    }

    /// Unpins a message; one that is not pinned is left as it is.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// client.messages().unpin(&message).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn unpin(&self, message: &MessageId) -> Result<(), Error> {
        self.client
            .execute(UnpinMessage::new(message.clone()))
            .await
    }

    /// Who has read a message the bot sent in the last seven days, by open_id, fetched a page
    /// at a time as the stream is read.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let readers: Vec<_> = client.messages().read_users(&message).try_collect().await?;
    /// println!("read by {}", readers.len());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn read_users(&self, message: &MessageId) -> Items<ReadUsers> {
        self.client.items(ReadUsers::new(message.clone()))
    }

    /// Makes a message the bot sent urgent in the app for `users` (open_ids of members of its
    /// chat); answers with the ids it could not reach. By SMS or phone:
    /// `client.execute(Urgent::<BySms>::new(…))` with [`lark_api::im::urgent`].
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let tom = lark::OpenId::new("ou_7d8a6e6df7621556ce0d21922b676706ccs");
    /// let missed = client.messages().urgent(&message, [tom]).await?;
    /// println!("not reached: {:?}", missed.invalid_user_id_list);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let pins: Vec<_> = client.chats().pins(&chat).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let details = client.chats().get(&chat).await?;
    /// println!("{:?}", details.name);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn get(&self, chat: &ChatId) -> Result<Chat, Error> {
        self.client.execute(GetChat::new(chat.clone())).await
    }

    /// Renames a chat.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// client.chats().rename(&chat, "incident 42 (resolved)").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn rename(&self, chat: &ChatId, name: impl Into<String>) -> Result<(), Error> {
        self.client
            .execute(UpdateChat::rename(chat.clone(), name))
            .await
    }

    /// Updates a chat's name, description or settings.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let mut update = lark::api::im::chats::ChatUpdate::default();
    /// update.description = Some("postmortem on Friday".to_owned());
    /// client.chats().update(&chat, update).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update(&self, chat: &ChatId, update: ChatUpdate) -> Result<(), Error> {
        self.client
            .execute(UpdateChat::new(chat.clone(), update))
            .await
    }

    /// Disbands a chat the bot owns.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// client.chats().delete(&chat).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn delete(&self, chat: &ChatId) -> Result<(), Error> {
        self.client.execute(DeleteChat::new(chat.clone())).await
    }

    /// The chats the bot is in.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let chats: Vec<_> = client.chats().list().try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let tom = lark::OpenId::new("ou_7d8a6e6df7621556ce0d21922b676706ccs");
    /// let added = client.members().add(&chat, [tom]).await?;
    /// println!("not added: {:?}", added.invalid_id_list);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let tom = lark::OpenId::new("ou_7d8a6e6df7621556ce0d21922b676706ccs");
    /// client.members().remove(&chat, [tom]).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// let members: Vec<_> = client.members().list(&chat).try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn list(&self, chat: &ChatId) -> Items<ListMembers> {
        self.client.items(ListMembers::new(chat.clone()))
    }

    /// Whether the bot is in a chat.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let chat = lark::ChatId::new("oc_5ad11d72b830411d72b836c20");
    /// if !client.members().bot_is_in(&chat).await? {
    ///     println!("the bot was removed");
    /// }
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = client.images().upload("chart.png").await?;
    /// client.messages().send(lark::ChatId::new("oc_5ad11d72b830411d72b836c20"), lark::MessageContent::image(key)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn upload(&self, path: impl AsRef<Path>) -> Upload<'a, ImageKey> {
        Upload::new(self.client, path.as_ref().to_path_buf())
    }

    /// Uploads an image held in memory.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let png: Vec<u8> = std::fs::read("chart.png").unwrap_or_default();
    /// let key = client.images().upload_bytes("chart.png", png).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = lark::ImageKey::new("img_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5");
    /// let saved = client.images().download(&key, "chart.png").await?;
    /// println!("{} bytes", saved.bytes);
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = client.files().upload("report.pdf").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn upload(&self, path: impl AsRef<Path>) -> Upload<'a, FileKey> {
        Upload::new(self.client, path.as_ref().to_path_buf())
    }

    /// Uploads a file held in memory; `file_name` (with its extension) sets its type.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = client.files().upload_bytes("notes.md", &b"# Notes\n"[..]).await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let key = lark::FileKey::new("file_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5");
    /// client.files().download(&key, "report.pdf").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn download(&self, file: &FileKey, path: impl AsRef<Path>) -> Result<Saved, Error> {
        self.client
            .http()
            .download_to_file(DownloadFile::new(file.clone()), path, None)
            .await
    }

    /// Downloads an image inside a received message into `path`, which must not exist yet.
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let image = lark::ImageKey::new("img_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5");
    /// client.files().download_message_image(&message, &image, "photo.jpg").await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let file = lark::FileKey::new("file_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5");
    /// client.files().download_message_file(&message, &file, "attachment.bin").await?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # async fn run(client: lark::Client) -> Result<(), lark::Error> {
    /// use futures_util::TryStreamExt;
    /// let message = lark::MessageId::new("om_dc13264520392913993dd051dba21dcf");
    /// let file = lark::FileKey::new("file_v2_041b28e3-aa4f-4e3b-9f3c-02b9c1e3e4f5");
    /// let mut stream = client.files().stream_message_file(&message, &file).await?;
    /// while let Some(chunk) = stream.try_next().await? {
    ///     println!("{} bytes", chunk.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
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
