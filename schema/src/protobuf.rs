//! Protobuf serdes (Confluent's `KafkaProtobufSerializer` / `-Deserializer`): generic over
//! [`prost_reflect::DynamicMessage`], typed over `prost` messages. Schemas are `.proto` text,
//! compiled with `protox`; imports of `google/protobuf/*.proto` resolve without references, as
//! in Confluent's registry.

use std::marker::PhantomData;
use std::sync::Arc;

use brook_state_store::serde::SerdeContext;
use prost_reflect::{DescriptorPool, DynamicMessage, FileDescriptor, MessageDescriptor, ReflectMessage};

use crate::avro::check_type;
use crate::client::{Schema, SchemaRegistryClient, SchemaType};
use crate::config::SerdeConfig;
use crate::error::{Error, Result};
use crate::registry::{Resolved, SchemaCache};
use crate::store_serde::registry_serde;
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

/// The files Confluent's registry and serializers know without references (besides Google's
/// well-known types): Confluent's field options and decimal, Google's date and time of day,
/// which Connect's Protobuf converter (and so ksqlDB) writes for `DECIMAL`, `DATE` and `TIME`.
pub const KNOWN_FILES: [(&str, &str); 4] = [
    (
        "confluent/meta.proto",
        "syntax = \"proto3\";\npackage confluent;\nimport \"google/protobuf/descriptor.proto\";\n\
         message Meta { string doc = 1; map<string, string> params = 2; repeated string tags = 3; }\n\
         extend google.protobuf.FileOptions { Meta file_meta = 1088; }\n\
         extend google.protobuf.MessageOptions { Meta message_meta = 1088; }\n\
         extend google.protobuf.FieldOptions { Meta field_meta = 1088; }\n\
         extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }\n\
         extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }\n",
    ),
    (
        "confluent/type/decimal.proto",
        "syntax = \"proto3\";\npackage confluent.type;\n\
         message Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }\n",
    ),
    ("google/type/date.proto", "syntax = \"proto3\";\npackage google.type;\nmessage Date { int32 year = 1; int32 month = 2; int32 day = 3; }\n"),
    (
        "google/type/timeofday.proto",
        "syntax = \"proto3\";\npackage google.type;\n\
         message TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }\n",
    ),
];

/// A schema's text as a `FileDescriptorProto`, when it is one base64-encoded (what
/// confluent-kafka's Python `ProtobufSerializer` registers) rather than `.proto` source.
#[must_use]
pub fn decode_base64_descriptor(text: &str) -> Option<prost_reflect::prost_types::FileDescriptorProto> {
    use base64::Engine as _;
    let text = text.trim();
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || c == ';' || c == '{') {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    <prost_reflect::prost_types::FileDescriptorProto as prost::Message>::decode(bytes.as_slice()).ok()
}

/// Compiles a Protobuf schema: `.proto` source (under the file name `main`) or a base64-encoded
/// `FileDescriptorProto`; `deps` are the imported files by import path, and
/// [`KNOWN_FILES`] and Google's well-known types resolve without them. Returns the main file.
///
/// # Errors
/// The compiler's message when the schema does not compile.
pub fn compile_file(main: &str, text: &str, deps: &[(String, String)]) -> std::result::Result<FileDescriptor, String> {
    let descriptor = decode_base64_descriptor(text);
    let mut files = deps.to_vec();
    if descriptor.is_none() {
        files.push((main.to_owned(), text.to_owned()));
    }
    let mut resolver = protox::file::ChainFileResolver::new();
    resolver.add(MemoryResolver { files });
    resolver.add(MemoryResolver { files: KNOWN_FILES.iter().map(|(n, s)| ((*n).to_owned(), (*s).to_owned())).collect() });
    resolver.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    match descriptor {
        None => {
            compiler.open_file(main).map_err(|e| e.to_string())?;
            compiler.descriptor_pool().get_file_by_name(main).ok_or_else(|| "compiled schema has no main file".to_owned())
        }
        Some(file) => {
            let deps: Vec<String> = file.dependency.clone();
            compiler.open_files(&deps).map_err(|e| e.to_string())?;
            let mut pool: DescriptorPool = compiler.descriptor_pool();
            let name = file.name().to_owned();
            // From the encoded bytes, which keep extension options (`(confluent.field_meta)`)
            // that `prost_types` drops.
            use base64::Engine as _;
            match base64::engine::general_purpose::STANDARD.decode(text.trim()) {
                Ok(bytes) => pool.decode_file_descriptor_proto(bytes.as_slice()).map_err(|e| e.to_string())?,
                Err(_) => pool.add_file_descriptor_proto(file).map_err(|e| e.to_string())?,
            }
            pool.get_file_by_name(&name).ok_or_else(|| "the descriptor names no file".to_owned())
        }
    }
}

impl ParsedProto {
    /// Compiles `.proto` text (or a base64-encoded `FileDescriptorProto`); `references` are
    /// the imported files by import path.
    ///
    /// # Errors
    /// [`Error::InvalidSchema`] with the compiler's message.
    pub fn compile(text: &str, references: &[(String, String)]) -> Result<Self> {
        compile_file(MAIN_FILE, text, references).map(|file| Self { file }).map_err(Error::InvalidSchema)
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

    fn writer(&self, ctx: &SerdeContext<'_>, message_name: &str) -> Result<(i32, Arc<ParsedProto>)> {
        let (schema, parsed) = self.own.as_ref().ok_or_else(|| Error::Config {
            key: "schema".to_owned(),
            reason: "this Protobuf serde was built without a schema to serialize with".to_owned(),
        })?;
        self.cache.writer(ctx, Some(message_name), schema, parsed, ParsedProto::resolved)
    }

    /// Serializes `message` for a record on `topic`, on the side [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes(&self, topic: &str, message: &DynamicMessage) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.cache.context(topic), message)
    }

    /// Serializes `message` for the record `ctx` describes (topic and side name the subject).
    ///
    /// # Errors
    /// Registry errors, [`Error::Serialize`].
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, message: &DynamicMessage) -> Result<Vec<u8>> {
        let descriptor = message.descriptor();
        let (id, writer) = self.writer(ctx, descriptor.full_name())?;
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

registry_serde!([] GenericProtobufSerde => DynamicMessage, |value| value, |(_, m)| m);

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

    /// Serializes `value` for a record on `topic`, on the side [`SerdeConfig::is_key`] names.
    ///
    /// # Errors
    /// Registry errors.
    pub fn to_bytes(&self, topic: &str, value: &T) -> Result<Vec<u8>> {
        self.to_bytes_with(&self.inner.cache.context(topic), value)
    }

    /// Serializes `value` for the record `ctx` describes (topic and side name the subject).
    ///
    /// # Errors
    /// Registry errors.
    pub fn to_bytes_with(&self, ctx: &SerdeContext<'_>, value: &T) -> Result<Vec<u8>> {
        let (id, writer) = self.inner.writer(ctx, &self.message)?;
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

registry_serde!([T: prost::Message + Default] ProtobufSerde<T> => T, |value| value, |v| v);

#[cfg(test)]
mod tests {
    use super::*;

    /// Confluent's known files resolve without references, and a base64-encoded descriptor (as
    /// Python's serializer registers) compiles to the same messages as its `.proto` text.
    #[test]
    fn known_files_and_base64_descriptors_compile() {
        use base64::Engine as _;
        let text = "syntax = \"proto3\";\npackage shop;\nimport \"confluent/type/decimal.proto\";\nimport \"google/type/date.proto\";\n\
                    message Order { confluent.type.Decimal amount = 1; google.type.Date day = 2; message Line { string sku = 1; } }\n";
        let parsed = ParsedProto::compile(text, &[]).unwrap();
        let mut proto = parsed.file.file_descriptor_proto().clone();
        proto.name = Some("order.proto".into());
        let encoded = base64::engine::general_purpose::STANDARD.encode(prost::Message::encode_to_vec(&proto));
        assert!(decode_base64_descriptor(text).is_none(), ".proto text is not a descriptor");
        let again = ParsedProto::compile(&encoded, &[]).unwrap();
        assert_eq!(again.file.name(), "order.proto");
        assert_eq!(again.message_at(&[0, 0]).unwrap().full_name(), "shop.Order.Line");
        let amount = again.message("shop.Order").unwrap().get_field_by_name("amount").unwrap();
        assert!(matches!(amount.kind(), prost_reflect::Kind::Message(m) if m.full_name() == "confluent.type.Decimal"));
        assert!(matches!(ParsedProto::compile("bm90IGEgZGVzY3JpcHRvcg", &[]), Err(Error::InvalidSchema(_))));
    }
}
