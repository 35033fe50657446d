//! Protobuf serdes (Confluent's `KafkaProtobufSerializer` / `-Deserializer`): generic over
//! [`prost_reflect::DynamicMessage`], typed over `prost` messages. Schemas are `.proto` text,
//! compiled with `protox`; imports of `google/protobuf/*.proto` resolve without references, as
//! in Confluent's registry.

use std::marker::PhantomData;
use std::sync::Arc;

use brook_state_store::serde::Serde;
use prost_reflect::{DescriptorPool, DynamicMessage, FileDescriptor, MessageDescriptor, ReflectMessage};

use crate::avro::{check_type, store_error};
use crate::client::{Schema, SchemaRegistryClient, SchemaType};
use crate::config::SerdeConfig;
use crate::error::{Error, Result};
use crate::registry::{Resolved, SchemaCache};
use crate::wire;

const FORMAT: &str = "PROTOBUF";
/// The file name the main schema is compiled under.
const MAIN_FILE: &str = "brook/registered.proto";

/// A compiled `.proto` schema.
#[derive(Debug, Clone)]
pub struct ParsedProto {
    /// The main file.
    pub file: FileDescriptor,
}

struct MemoryResolver {
    files: Vec<(String, String)>,
}

impl protox::file::FileResolver for MemoryResolver {
    fn open_file(&self, name: &str) -> std::result::Result<protox::file::File, protox::Error> {
        match self.files.iter().find(|(n, _)| n == name) {
            Some((n, source)) => protox::file::File::from_source(n, source),
            None => Err(protox::Error::file_not_found(name)),
        }
    }
}

impl ParsedProto {
    /// Compiles `.proto` text; `references` are the imported files by import path.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] with the compiler's message.
    pub fn compile(text: &str, references: &[(String, String)]) -> Result<Self> {
        let mut files = references.to_vec();
        files.push((MAIN_FILE.to_owned(), text.to_owned()));
        let mut resolver = protox::file::ChainFileResolver::new();
        resolver.add(MemoryResolver { files });
        resolver.add(protox::file::GoogleFileResolver::new());
        let mut compiler = protox::Compiler::with_file_resolver(resolver);
        compiler.open_file(MAIN_FILE).map_err(|e| Error::InvalidSchema(e.to_string()))?;
        let pool: DescriptorPool = compiler.descriptor_pool();
        let file = pool
            .get_file_by_name(MAIN_FILE)
            .ok_or_else(|| Error::InvalidSchema("compiled schema has no main file".to_owned()))?;
        Ok(Self { file })
    }

    fn resolved(resolved: &Resolved) -> Result<Self> {
        check_type(resolved, SchemaType::Protobuf)?;
        let references: Vec<(String, String)> =
            resolved.references.iter().map(|(name, s)| (name.clone(), s.schema.clone())).collect();
        Self::compile(&resolved.schema.schema, &references)
    }

    /// The first message of the file (what Confluent serializes when none is named).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when the file defines no message.
    pub fn first_message(&self) -> Result<MessageDescriptor> {
        self.file.messages().next().ok_or_else(|| Error::InvalidSchema("the schema defines no message".to_owned()))
    }

    /// The message `name` (full name, or the name without the package).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when there is no such message.
    pub fn message(&self, name: &str) -> Result<MessageDescriptor> {
        let pool = self.file.parent_pool();
        let package = self.file.package_name();
        pool.get_message_by_name(name)
            .or_else(|| pool.get_message_by_name(&format!("{package}.{name}")))
            .ok_or_else(|| Error::InvalidSchema(format!("no message {name:?} in the schema")))
    }

    /// The message at Confluent's message indexes.
    ///
    /// # Errors
    /// [`Error::Deserialize`] when the indexes point at no message.
    pub fn message_at(&self, indexes: &[i32]) -> Result<MessageDescriptor> {
        let missing = || Error::deserialize(FORMAT, format!("no message at indexes {indexes:?}"));
        let (first, rest) = indexes.split_first().ok_or_else(missing)?;
        let nth = |i: i32| usize::try_from(i).map_err(|_| missing());
        let mut message = self.file.messages().nth(nth(*first)?).ok_or_else(missing)?;
        for index in rest {
            let child = message.child_messages().nth(nth(*index)?);
            message = child.ok_or_else(missing)?;
        }
        Ok(message)
    }
}

/// Confluent's message indexes of `message`: its position in the file, then in each parent.
#[must_use]
pub fn message_indexes(message: &MessageDescriptor) -> Vec<i32> {
    let mut indexes = Vec::new();
    let mut current = message.clone();
    loop {
        let position = |mut siblings: Box<dyn Iterator<Item = MessageDescriptor> + '_>| {
            siblings.position(|m| m.full_name() == current.full_name()).unwrap_or(0) as i32
        };
        match current.parent_message() {
            Some(parent) => {
                indexes.push(position(Box::new(parent.child_messages())));
                current = parent;
            }
            None => {
                indexes.push(position(Box::new(current.parent_file().messages())));
                break;
            }
        }
    }
    indexes.reverse();
    indexes
}

/// Frames an encoded message: magic byte, id, message indexes, payload.
fn frame(id: i32, indexes: &[i32], payload: &[u8]) -> Vec<u8> {
    let mut out = wire::header(id, payload.len() + 1);
    wire::put_message_indexes(&mut out, indexes);
    out.extend_from_slice(payload);
    out
}

/// Dynamic messages to and from Confluent-framed Protobuf records.
#[derive(Debug)]
pub struct GenericProtobufSerde {
    cache: SchemaCache<ParsedProto>,
    own: Option<(Schema, Arc<ParsedProto>)>,
}

impl GenericProtobufSerde {
    /// A serde that serializes with `schema` (`.proto` text); `None` for a deserializer only.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when `schema` does not compile.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: Option<&str>) -> Result<Self> {
        let own =
            schema.map(|text| Ok::<_, Error>((Schema::protobuf(text), Arc::new(ParsedProto::compile(text, &[])?)))).transpose()?;
        Ok(Self { cache: SchemaCache::new(client, config), own })
    }

    /// The compiled schema this serde serializes with.
    #[must_use]
    pub fn schema(&self) -> Option<&ParsedProto> {
        self.own.as_ref().map(|(_, p)| p.as_ref())
    }

    fn writer(&self, topic: &str, message_name: &str) -> Result<(i32, Arc<ParsedProto>)> {
        let (schema, parsed) = self.own.as_ref().ok_or_else(|| Error::Config {
            key: "schema".to_owned(),
            reason: "this Protobuf serde was built without a schema to serialize with".to_owned(),
        })?;
        self.cache.writer(topic, Some(message_name), schema, parsed, ParsedProto::resolved)
    }

    /// Serializes `message` for a record on `topic`.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes(&self, topic: &str, message: &DynamicMessage) -> Result<Vec<u8>> {
        let descriptor = message.descriptor();
        let (id, writer) = self.writer(topic, descriptor.full_name())?;
        let writer_message = writer.message(descriptor.full_name())?;
        Ok(frame(id, &message_indexes(&writer_message), &prost::Message::encode_to_vec(message)))
    }

    /// Deserializes framed bytes with the writer's schema.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::SchemaNotFound`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<(i32, DynamicMessage)> {
        let (id, rest) = wire::split(bytes)?;
        let (indexes, payload) = wire::take_message_indexes(rest)?;
        let schema = self.cache.by_id(id, ParsedProto::resolved)?;
        let message = schema.message_at(&indexes)?;
        let message = DynamicMessage::decode(message, payload).map_err(|e| Error::deserialize(FORMAT, e))?;
        Ok((id, message))
    }
}

impl Serde<DynamicMessage> for GenericProtobufSerde {
    fn serialize(&self, topic: &str, value: &DynamicMessage) -> brook_state_store::Result<Vec<u8>> {
        self.to_bytes(topic, value).map_err(|e| store_error(e, true))
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> brook_state_store::Result<DynamicMessage> {
        self.from_bytes(bytes).map(|(_, m)| m).map_err(|e| store_error(e, false))
    }
}

/// `prost` messages to and from Confluent-framed Protobuf records; the schema is the message's
/// `.proto` text and its full name.
pub struct ProtobufSerde<T> {
    inner: GenericProtobufSerde,
    message: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ProtobufSerde<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtobufSerde").field("message", &self.message).finish_non_exhaustive()
    }
}

impl<T: prost::Message + Default> ProtobufSerde<T> {
    /// A serde for `T`, message `message` of `schema` (`.proto` text).
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] when the schema does not compile or lacks the message.
    pub fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig, schema: &str, message: &str) -> Result<Self> {
        let inner = GenericProtobufSerde::new(client, config, Some(schema))?;
        let message = inner.schema().expect("schema given").message(message)?.full_name().to_owned();
        Ok(Self { inner, message, _type: PhantomData })
    }

    /// Serializes `value` for a record on `topic`.
    ///
    /// # Errors
    /// Registry errors.
    pub fn to_bytes(&self, topic: &str, value: &T) -> Result<Vec<u8>> {
        let (id, writer) = self.inner.writer(topic, &self.message)?;
        let indexes = message_indexes(&writer.message(&self.message)?);
        Ok(frame(id, &indexes, &value.encode_to_vec()))
    }

    /// Deserializes framed bytes into `T`.
    ///
    /// # Errors
    /// [`Error::UnknownMagicByte`], [`Error::Deserialize`].
    pub fn from_bytes(&self, bytes: &[u8]) -> Result<T> {
        let (_, rest) = wire::split(bytes)?;
        let (_, payload) = wire::take_message_indexes(rest)?;
        T::decode(payload).map_err(|e| Error::deserialize(FORMAT, e))
    }
}

impl<T: prost::Message + Default> Serde<T> for ProtobufSerde<T> {
    fn serialize(&self, topic: &str, value: &T) -> brook_state_store::Result<Vec<u8>> {
        self.to_bytes(topic, value).map_err(|e| store_error(e, true))
    }
    fn deserialize(&self, _topic: &str, bytes: &[u8]) -> brook_state_store::Result<T> {
        self.from_bytes(bytes).map_err(|e| store_error(e, false))
    }
}
