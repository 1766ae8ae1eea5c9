//! The shapes of the platform's answers. An endpoint names its shape once
//! (`type Answer = Data<Chat>;`) and [`Endpoint::parse`](crate::Endpoint::parse) reads it.

use crate::endpoint::{Download, parse_data, parse_download, parse_empty, parse_top_level};
use crate::error::Error;
use crate::pagination::Page;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// How an answer is read into its typed output.
pub trait Answer {
    /// What the answer reads as.
    type Output;

    /// Reads a response: the typed output, or the platform's refusal as an error.
    fn read(response: http::Response<Bytes>) -> Result<Self::Output, Error>;
}

/// `{"code":0,"msg":"success","data":{…}}`: the object in `data`.
#[derive(Debug)]
pub struct Data<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned> Answer for Data<T> {
    type Output = T;

    fn read(response: http::Response<Bytes>) -> Result<T, Error> {
        parse_data(&response)
    }
}

/// One page of a list: `data` is `{"items":[…],"has_more":…,"page_token":…}`.
pub type PageOf<T> = Data<Page<T>>;

/// The object in `data`, unwrapped: `data` reads as `W` (`{"image_key":"…"}`, say), which
/// converts into the output (`ImageKey`).
#[derive(Debug)]
pub struct Inner<W, T>(PhantomData<fn() -> (W, T)>);

impl<W: DeserializeOwned + Into<T>, T> Answer for Inner<W, T> {
    type Output = T;

    fn read(response: http::Response<Bytes>) -> Result<T, Error> {
        parse_data::<W>(&response).map(Into::into)
    }
}

/// `{"code":0,"msg":"success"}` with no `data` worth reading: the action was done.
#[derive(Debug)]
pub struct Nothing;

impl Answer for Nothing {
    type Output = ();

    fn read(response: http::Response<Bytes>) -> Result<(), Error> {
        parse_empty(&response)
    }
}

/// An object at the top level, beside `code` and `msg` rather than inside `data` (the token
/// endpoints, the bot's own information).
#[derive(Debug)]
pub struct TopLevel<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned> Answer for TopLevel<T> {
    type Output = T;

    fn read(response: http::Response<Bytes>) -> Result<T, Error> {
        parse_top_level(&response)
    }
}

/// A file: the body is its bytes, or a JSON error.
#[derive(Debug)]
pub struct File;

impl Answer for File {
    type Output = Download;

    fn read(response: http::Response<Bytes>) -> Result<Download, Error> {
        parse_download(response)
    }
}

/// Declares an answer shape that reads one field of `data`: `data_field!(Pinned, pin: Pin)`
/// reads `{"data":{"pin":{…}}}` as a `Pin`.
macro_rules! data_field {
    ($(#[$doc:meta])* $name:ident, $field:ident: $output:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl $crate::answer::Answer for $name {
            type Output = $output;

            fn read(
                response: http::Response<bytes::Bytes>,
            ) -> Result<$output, $crate::error::Error> {
                #[derive(serde::Deserialize)]
                struct Field {
                    $field: $output,
                }
                $crate::endpoint::parse_data::<Field>(&response).map(|data| data.$field)
            }
        }
    };
}
pub(crate) use data_field;

/// Declares an endpoint that names one resource by its id in the path and sends nothing else:
/// the struct, its constructor and its [`Endpoint`](crate::Endpoint) implementation, from the
/// method, the path template and the answer's shape.
macro_rules! by_id {
    (
        $(#[$doc:meta])*
        pub struct $name:ident {
            $(#[$field_doc:meta])*
            pub $field:ident: $id:ty,
        }
        $(#[$new_doc:meta])*
        fn new;
        $method:ident $path:literal => $answer:ty $(, $idempotent:ident)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[must_use]
        pub struct $name {
            $(#[$field_doc])*
            pub $field: $id,
        }

        impl $name {
            $(#[$new_doc])*
            pub fn new($field: impl Into<$id>) -> Self {
                Self {
                    $field: $field.into(),
                }
            }
        }

        $crate::answer::endpoint!($name: $method $path => $answer, ids($field) {
            $(
                /// Asking twice has the effect of asking once.
                fn is_idempotent(&self) -> bool {
                    const _: () = assert!(
                        matches!(stringify!($idempotent).as_bytes(), b"idempotent"),
                        "the only word after the answer is `idempotent`"
                    );
                    true
                }
            )?
        });
    };
}
pub(crate) use by_id;

/// Implements [`Endpoint`](crate::Endpoint) from what differs between endpoints: the method,
/// the path template, the answer's shape (which also gives the output), the fields that fill
/// the path's `:name` segments, whether its `uuid` field makes it idempotent or its
/// `page_size` and `page_token` fields page it (`paged(MAX)`, with the most a page may hold),
/// and any other item of the trait (`query`, `body`…) in braces.
///
/// `endpoint!(UpdateChat: PUT "/open-apis/im/v1/chats/:chat_id" => Nothing, ids(chat_id) { … })`
macro_rules! endpoint {
    ($name:ident: $method:ident $path:literal => $answer:ty $(, ids($($id:ident),+))?, uuid { $($item:tt)* }) => {
        $crate::answer::endpoint!($name: $method $path => $answer $(, ids($($id),+))? {
            /// Idempotent when it carries a `uuid`, which the executor fills before the first
            /// attempt.
            fn is_idempotent(&self) -> bool {
                self.uuid.is_some()
            }

            fn idempotency_key(&mut self) -> Option<&mut Option<String>> {
                Some(&mut self.uuid)
            }

            $($item)*
        });
    };
    ($name:ident: $method:ident $path:literal => $answer:ty $(, ids($($id:ident),+))?, paged($max:expr) { $($item:tt)* }) => {
        impl $crate::pagination::Paginated for $name {
            fn set_page_token(&mut self, token: Option<String>) {
                self.page_token = token;
            }
        }

        $crate::answer::endpoint!($name: $method $path => $answer $(, ids($($id),+))? {
            fn page(&self) -> Option<$crate::pagination::PageRequest<'_>> {
                Some($crate::pagination::PageRequest::new(
                    self.page_size,
                    $max,
                    self.page_token.as_deref(),
                ))
            }

            $($item)*
        });
    };
    ($name:ident: $method:ident $path:literal => $answer:ty $(, ids($($id:ident),+))? { $($item:tt)* }) => {
        impl $crate::endpoint::Endpoint for $name {
            type Output = <$answer as $crate::answer::Answer>::Output;
            type Answer = $answer;
            const METHOD: http::Method = http::Method::$method;
            const PATH: &'static str = $path;

            $(
                fn path_ids(&self) -> $crate::endpoint::PathIds<'_> {
                    $crate::endpoint::PathIds::of(&[$(self.$id.as_str()),+])
                }
            )?

            $($item)*
        }
    };
}
pub(crate) use endpoint;
