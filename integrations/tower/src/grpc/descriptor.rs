//! The methods an encoded `google.protobuf.FileDescriptorSet` declares, read straight off the
//! protobuf wire: of `descriptor.proto` only the fields that name a method are read (a file's
//! `package` and `service`, a service's `name` and `method`, a method's `name`,
//! `client_streaming` and `server_streaming`); every other field is skipped. No message type,
//! no derive: the gRPC layers need no code generator to know what a service declares.

/// Bytes given to [`GrpcMethods::file_descriptor_set`](super::GrpcMethods::file_descriptor_set)
/// that do not decode as a descriptor set: what was wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorError {
    why: &'static str,
    at: usize,
}

impl std::fmt::Display for DescriptorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "not a protobuf FileDescriptorSet: {} at byte {}",
            self.why, self.at
        )
    }
}

impl std::error::Error for DescriptorError {}

/// One declared method: its service (`package.Service`), its name, and whether the client and
/// the server stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    pub(crate) service: String,
    pub(crate) method: String,
    pub(crate) client_streaming: bool,
    pub(crate) server_streaming: bool,
}

/// Every method of every service in the set, in the order the set lists them.
pub(crate) fn methods(set: &[u8]) -> Result<Vec<Declared>, DescriptorError> {
    let mut out = Vec::new();
    let mut set = Reader::new(set, 0);
    while let Some((field, value)) = set.field()? {
        if let (1, Value::Bytes(file)) = (field, value) {
            file_methods(file, &mut out)?;
        }
    }
    Ok(out)
}

/// A `FileDescriptorProto`'s methods, named under its package (which may come after its
/// services on the wire).
fn file_methods(file: Reader<'_>, out: &mut Vec<Declared>) -> Result<(), DescriptorError> {
    let mut package = "";
    let mut services = Vec::new();
    let mut file = file;
    while let Some((field, value)) = file.field()? {
        match (field, value) {
            (2, Value::Bytes(p)) => package = p.text()?,
            (6, Value::Bytes(s)) => services.push(s),
            _ => {}
        }
    }
    for mut service in services {
        let mut name = "";
        let mut methods = Vec::new();
        while let Some((field, value)) = service.field()? {
            match (field, value) {
                (1, Value::Bytes(n)) => name = n.text()?,
                (2, Value::Bytes(m)) => methods.push(m),
                _ => {}
            }
        }
        let service = match package {
            "" => name.to_owned(),
            package => format!("{package}.{name}"),
        };
        for method in methods {
            out.push(method_of(&service, method)?);
        }
    }
    Ok(())
}

/// A `MethodDescriptorProto`.
fn method_of(service: &str, mut method: Reader<'_>) -> Result<Declared, DescriptorError> {
    let mut declared = Declared {
        service: service.to_owned(),
        method: String::new(),
        client_streaming: false,
        server_streaming: false,
    };
    while let Some((field, value)) = method.field()? {
        match (field, value) {
            (1, Value::Bytes(n)) => n.text()?.clone_into(&mut declared.method),
            (5, Value::Varint(v)) => declared.client_streaming = v != 0,
            (6, Value::Varint(v)) => declared.server_streaming = v != 0,
            _ => {}
        }
    }
    Ok(declared)
}

/// A field's value: a varint, or the bytes of a length-delimited field (a message or a
/// string). Fixed-width fields are skipped.
enum Value<'a> {
    Varint(u64),
    Bytes(Reader<'a>),
    Fixed,
}

/// Reads one message's fields; `base` is where its bytes start in the whole set, for errors.
#[derive(Clone, Copy)]
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Self { bytes, at: 0, base }
    }

    fn fault(&self, why: &'static str) -> DescriptorError {
        DescriptorError {
            why,
            at: self.base + self.at,
        }
    }

    fn varint(&mut self) -> Result<u64, DescriptorError> {
        let start = *self;
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(start.fault("a varint runs past the end"));
            };
            self.at += 1;
            if shift == 63 && b > 1 {
                return Err(start.fault("a varint is longer than 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(start.fault("a varint is longer than 64 bits"))
    }

    fn skip(&mut self, n: usize, why: &'static str) -> Result<&'a [u8], DescriptorError> {
        let start = self.at;
        let end = start
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.fault(why))?;
        self.at = end;
        Ok(&self.bytes[start..end])
    }

    /// The next field's number and value, or `None` at the end of the message.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, DescriptorError> {
        if self.at == self.bytes.len() {
            return Ok(None);
        }
        let tag_at = *self;
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.skip(8, "a fixed64 field runs past the end")?;
                Value::Fixed
            }
            2 => {
                let len = self.varint()?;
                let base = self.base + self.at;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                let bytes = self.skip(len, "a length-delimited field runs past the end")?;
                Value::Bytes(Reader::new(bytes, base))
            }
            5 => {
                self.skip(4, "a fixed32 field runs past the end")?;
                Value::Fixed
            }
            _ => return Err(tag_at.fault("a field has a wire type descriptors do not use")),
        };
        Ok(Some((tag >> 3, value)))
    }

    /// The whole message as UTF-8 text (a string field).
    fn text(&self) -> Result<&'a str, DescriptorError> {
        std::str::from_utf8(self.bytes).map_err(|e| DescriptorError {
            why: "a name is not UTF-8",
            at: self.base + e.valid_up_to(),
        })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use prost_types::{
        FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, ServiceDescriptorProto,
    };

    use super::{Declared, DescriptorError, methods};

    fn method(name: &str, client: bool, server: bool) -> MethodDescriptorProto {
        MethodDescriptorProto {
            name: Some(name.to_owned()),
            input_type: Some(".shop.v1.Request".to_owned()),
            output_type: Some(".shop.v1.Reply".to_owned()),
            client_streaming: Some(client),
            server_streaming: Some(server),
            ..Default::default()
        }
    }

    fn declared(service: &str, method: &str, client: bool, server: bool) -> Declared {
        Declared {
            service: service.to_owned(),
            method: method.to_owned(),
            client_streaming: client,
            server_streaming: server,
        }
    }

    /// What prost's own encoder writes (every field descriptor.proto fills, options and
    /// dependencies too) reads back as the methods it declares, in order.
    #[test]
    fn a_set_prost_encodes_reads_back_method_for_method() {
        let set = FileDescriptorSet {
            file: vec![
                FileDescriptorProto {
                    name: Some("shop.proto".to_owned()),
                    package: Some("shop.v1".to_owned()),
                    dependency: vec!["google/protobuf/empty.proto".to_owned()],
                    service: vec![
                        ServiceDescriptorProto {
                            name: Some("Inventory".to_owned()),
                            method: vec![
                                method("Reserve", false, false),
                                method("WatchStock", false, true),
                                method("Upload", true, false),
                                method("Chat", true, true),
                            ],
                            ..Default::default()
                        },
                        ServiceDescriptorProto {
                            name: Some("Empty".to_owned()),
                            ..Default::default()
                        },
                    ],
                    syntax: Some("proto3".to_owned()),
                    ..Default::default()
                },
                FileDescriptorProto {
                    name: Some("bare.proto".to_owned()),
                    service: vec![ServiceDescriptorProto {
                        name: Some("Bare".to_owned()),
                        method: vec![method("Ping", false, false)],
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ],
        };
        assert_eq!(
            methods(&set.encode_to_vec()),
            Ok(vec![
                declared("shop.v1.Inventory", "Reserve", false, false),
                declared("shop.v1.Inventory", "WatchStock", false, true),
                declared("shop.v1.Inventory", "Upload", true, false),
                declared("shop.v1.Inventory", "Chat", true, true),
                declared("Bare", "Ping", false, false),
            ])
        );
        assert_eq!(methods(&[]), Ok(Vec::new()));
    }

    /// A package written after the services still names them; fixed-width fields are skipped.
    #[test]
    fn field_order_and_unknown_fields_do_not_matter() {
        // file { service { name "S" method { name "M" } } 99: fixed32 package "p" }
        let method = [0x12, 0x03, 0x0a, 0x01, b'M'];
        let mut service = vec![0x0a, 0x01, b'S'];
        service.extend(method);
        let mut file = vec![0x32, service.len() as u8];
        file.extend(&service);
        file.extend([0x9d, 0x06, 1, 2, 3, 4]);
        file.extend([0x12, 0x01, b'p']);
        let mut set = vec![0x0a, file.len() as u8];
        set.extend(&file);
        assert_eq!(methods(&set), Ok(vec![declared("p.S", "M", false, false)]));
    }

    #[test]
    fn bad_bytes_say_what_and_where() {
        let err = |bytes: &[u8]| methods(bytes).unwrap_err().to_string();
        assert_eq!(
            err(&[0xff, 0xff]),
            "not a protobuf FileDescriptorSet: a varint runs past the end at byte 0"
        );
        assert_eq!(
            err(&[0x0a, 0x05, 0x12]),
            "not a protobuf FileDescriptorSet: a length-delimited field runs past the end at byte 2"
        );
        assert_eq!(
            err(&[0x0b]),
            "not a protobuf FileDescriptorSet: a field has a wire type descriptors do not use at byte 0"
        );
        // file { package "\xff" }
        assert_eq!(
            err(&[0x0a, 0x03, 0x12, 0x01, 0xff]),
            "not a protobuf FileDescriptorSet: a name is not UTF-8 at byte 4"
        );
        assert_eq!(
            methods(&[
                0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02
            ]),
            Err(DescriptorError {
                why: "a varint is longer than 64 bits",
                at: 1
            })
        );
    }
}
