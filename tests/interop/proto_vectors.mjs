// Test vectors for the protobuf cross-check (proto_interop.mjs, proto_interop.c): XMTP
// messages in proto3 JSON form (lowerCamelCase names, bytes as base64, 64-bit integers as
// decimal strings, enums by name), the form ts-proto's toJSON produces. Each vector is
// the expected value on both sides: the Node side encodes it with XMTP's codecs, the C
// side must decode those bytes to exactly this JSON, and the other way round.
//
// Values are chosen to reach the edges that matter on the wire: maximum uint64, multi-byte
// length prefixes, UTF-8 outside ASCII, explicit-presence fields holding their default
// ("" or 0), empty sub-messages, map values equal to 0, packed repeated enums, nested
// and/any policies. Integer-like map keys are avoided: JavaScript objects put them first,
// whatever the wire order.

// Deterministic bytes: n bytes from a small LCG, so vectors are not all zeros.
function pat(n, seed) {
  const b = Buffer.alloc(n);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
const b64 = (buf) => Buffer.from(buf).toString('base64');
const hex = (buf) => Buffer.from(buf).toString('hex');
const inbox = (seed) => hex(pat(32, seed)); // inbox ids are 64 lowercase hex characters

const MLS = 'xmtp.mls.api.v1';
const MC = 'xmtp.mls.message_contents';
const CT = 'xmtp.mls.message_contents.content_types';
const IA = 'xmtp.identity.associations';
const IAPI = 'xmtp.identity.api.v1';

const groupId = pat(16, 1);
const textContent = {
  type: { authorityId: 'xmtp.org', typeId: 'text', versionMajor: 1 },
  parameters: { encoding: 'UTF-8' },
  content: b64(Buffer.from('gm ☀️ from the bot', 'utf8')),
};

const groupMessage = {
  v1: {
    id: '18446744073709551615',
    createdNs: '1764412345678901234',
    groupId: b64(groupId),
    data: b64(pat(300, 2)),
    senderHmac: b64(pat(32, 3)),
    shouldPush: true,
    isCommit: true,
  },
};

const erc191 = (seed) => ({ erc191: { bytes: b64(pat(65, seed)) } });

// name, fully-qualified type, JSON value; `reorder`: ts-proto writes fields in
// declaration order and XMTP declares EncodedContent.compression (5) before content (4),
// so C's bytes are expected to differ from ts-proto's by field order only; `hex`: the
// exact expected encoding, from an independent source.
export const VECTORS = [
  { name: 'group_message', type: `${MLS}.GroupMessage`, json: groupMessage },
  {
    name: 'welcome_message_v1',
    type: `${MLS}.WelcomeMessage`,
    json: {
      v1: {
        id: '4294967296',
        createdNs: '1764412345000000001',
        installationKey: b64(pat(32, 4)),
        data: b64(pat(1200, 5)),
        hpkePublicKey: b64(pat(1216, 6)),
        wrapperAlgorithm: 'WELCOME_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6',
        welcomeMetadata: b64(pat(40, 7)),
      },
    },
  },
  {
    name: 'welcome_message_pointer',
    type: `${MLS}.WelcomeMessage`,
    json: {
      welcomePointer: {
        id: '77',
        createdNs: '1764412345000000002',
        installationKey: b64(pat(32, 8)),
        welcomePointer: b64(pat(1180, 9)),
        hpkePublicKey: b64(pat(1216, 10)),
        wrapperAlgorithm: 'WELCOME_POINTER_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6',
      },
    },
  },
  {
    name: 'query_group_messages_response',
    type: `${MLS}.QueryGroupMessagesResponse`,
    json: {
      messages: [
        groupMessage,
        { v1: { id: '1001', createdNs: '1764412345678901300', groupId: b64(groupId), data: b64(pat(90, 11)) } },
        {
          v1: {
            id: '1002',
            createdNs: '1764412345678901400',
            groupId: b64(groupId),
            data: b64(pat(129, 12)),
            senderHmac: b64(pat(32, 13)),
            shouldPush: true,
          },
        },
      ],
      pagingInfo: { direction: 'SORT_DIRECTION_ASCENDING', limit: 100, idCursor: '1002' },
    },
  },
  {
    name: 'identity_update',
    type: `${IA}.IdentityUpdate`,
    json: {
      actions: [
        {
          createInbox: {
            initialIdentifier: '0x1234567890abcdef1234567890abcdef12345678',
            nonce: '1',
            initialIdentifierSignature: erc191(20),
            initialIdentifierKind: 'IDENTIFIER_KIND_ETHEREUM',
          },
        },
        {
          add: {
            newMemberIdentifier: { installationPublicKey: b64(pat(32, 21)) },
            existingMemberSignature: erc191(22),
            newMemberSignature: { installationKey: { bytes: b64(pat(64, 23)), publicKey: b64(pat(32, 21)) } },
          },
        },
        {
          add: {
            newMemberIdentifier: { passkey: { key: b64(pat(33, 24)), relyingParty: 'bots.example' } },
            existingMemberSignature: {
              erc6492: {
                accountId: 'eip155:8453:0xabcdefabcdefabcdefabcdefabcdefabcdefabcd',
                blockNumber: '23456789',
                signature: b64(pat(200, 25)),
              },
            },
            newMemberSignature: {
              passkey: {
                publicKey: b64(pat(33, 24)),
                signature: b64(pat(64, 26)),
                authenticatorData: b64(pat(37, 27)),
                clientDataJson: b64(Buffer.from('{"type":"webauthn.get","challenge":"x"}')),
              },
            },
            relyingParty: '',
          },
        },
        {
          revoke: {
            memberToRevoke: { ethereumAddress: '0xabcdefabcdefabcdefabcdefabcdefabcdefabcd' },
            recoveryIdentifierSignature: erc191(28),
          },
        },
        {
          changeRecoveryAddress: {
            newRecoveryIdentifier: 'passkey-recovery',
            existingRecoveryIdentifierSignature: {
              delegatedErc191: {
                delegatedKey: {
                  keyBytes: b64(pat(75, 29)),
                  signature: { ecdsaCompact: { bytes: b64(pat(64, 30)), recovery: 1 } },
                },
                signature: { bytes: b64(pat(65, 31)) },
              },
            },
            newRecoveryIdentifierKind: 'IDENTIFIER_KIND_PASSKEY',
            relyingParty: 'bots.example',
          },
        },
      ],
      clientTimestampNs: '1764412345678901234',
      inboxId: inbox(32),
    },
  },
  {
    name: 'group_mutable_metadata',
    type: `${MC}.GroupMutableMetadataV1`,
    json: {
      attributes: {
        group_name: 'Bots ✓ café',
        description: 'A group where bots say gm. '.repeat(6).trim(),
        group_image_url_square: 'https://example.com/img.png',
        message_disappear_from_ns: '1764412345678901234',
        message_disappear_in_ns: '86400000000000',
        _commit_log_signer: b64(pat(32, 40)),
        app_data: '',
      },
      adminList: { inboxIds: [inbox(41), inbox(42)] },
      superAdminList: { inboxIds: [inbox(43)] },
    },
  },
  {
    name: 'group_mutable_permissions',
    type: `${MC}.GroupMutablePermissionsV1`,
    json: {
      policies: {
        addMemberPolicy: {
          anyCondition: {
            policies: [
              { base: 'BASE_POLICY_ALLOW_IF_SUPER_ADMIN' },
              {
                andCondition: {
                  policies: [{ base: 'BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN' }, { base: 'BASE_POLICY_ALLOW' }],
                },
              },
            ],
          },
        },
        removeMemberPolicy: { base: 'BASE_POLICY_ALLOW_IF_ADMIN_OR_SUPER_ADMIN' },
        updateMetadataPolicy: {
          group_name: { base: 'METADATA_BASE_POLICY_ALLOW' },
          description: {
            andCondition: {
              policies: [
                { base: 'METADATA_BASE_POLICY_ALLOW_IF_ADMIN' },
                { anyCondition: { policies: [{ base: 'METADATA_BASE_POLICY_DENY' }] } },
              ],
            },
          },
          minimum_supported_protocol_version: { base: 'METADATA_BASE_POLICY_ALLOW_IF_SUPER_ADMIN' },
        },
        addAdminPolicy: { base: 'PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN' },
        removeAdminPolicy: {
          anyCondition: {
            policies: [{ base: 'PERMISSIONS_BASE_POLICY_DENY' }, { base: 'PERMISSIONS_BASE_POLICY_ALLOW_IF_ADMIN' }],
          },
        },
        updatePermissionsPolicy: { base: 'PERMISSIONS_BASE_POLICY_ALLOW_IF_SUPER_ADMIN' },
      },
    },
  },
  {
    name: 'group_membership',
    type: `${MC}.GroupMembership`,
    json: {
      members: { [inbox(50)]: '0', [inbox(51)]: '17', [inbox(52)]: '18446744073709551615' },
      failedInstallations: [b64(pat(32, 53)), b64(pat(32, 54))],
    },
  },
  {
    name: 'encoded_content_reply',
    type: `${MC}.EncodedContent`,
    json: {
      type: { authorityId: 'xmtp.org', typeId: 'reply', versionMajor: 1 },
      parameters: {
        reference: hex(pat(32, 60)),
        referenceInboxId: inbox(61),
        contentType: 'xmtp.org/text:1.0',
      },
      fallback: 'Replied with “gm ☀️” to an earlier message',
      content: b64(Buffer.from('placeholder: replaced below')),
    },
  },
  {
    // explicit-presence fields holding their defaults ("" and 0) must still be sent
    name: 'encoded_content_defaults',
    type: `${MC}.EncodedContent`,
    json: {
      type: { authorityId: 'xmtp.org', typeId: 'readReceipt', versionMajor: 1 },
      fallback: '',
      compression: 'COMPRESSION_DEFLATE',
    },
  },
  {
    name: 'encoded_content_gzip',
    type: `${MC}.EncodedContent`,
    reorder: true,
    json: {
      type: { authorityId: 'xmtp.org', typeId: 'text', versionMajor: 1 },
      parameters: { encoding: 'UTF-8' },
      compression: 'COMPRESSION_GZIP',
      content: b64(pat(48, 62)),
    },
  },
  {
    name: 'plaintext_envelope',
    type: `${MC}.PlaintextEnvelope`,
    json: { v1: { content: 'replaced below', idempotencyKey: '1764412345678901234' } },
  },
  {
    name: 'plaintext_envelope_v2',
    type: `${MC}.PlaintextEnvelope`,
    json: { v2: { idempotencyKey: 'k-2', content: b64(pat(20, 63)) } },
  },
  {
    name: 'reaction_v2',
    type: `${CT}.ReactionV2`,
    json: {
      reference: hex(pat(32, 70)),
      referenceInboxId: inbox(71),
      action: 'REACTION_ACTION_ADDED',
      content: '👍🏽',
      schema: 'REACTION_SCHEMA_UNICODE',
    },
  },
  {
    name: 'group_updated',
    type: `${MC}.GroupUpdated`,
    json: {
      initiatedByInboxId: inbox(80),
      addedInboxes: [{ inboxId: inbox(81) }, { inboxId: inbox(82) }],
      removedInboxes: [{ inboxId: inbox(83) }],
      metadataFieldChanges: [
        { fieldName: 'group_name', oldValue: 'Old name', newValue: 'Bots ✓ café' },
        { fieldName: 'description', newValue: '' },
        { fieldName: 'app_data' },
      ],
      leftInboxes: [{ inboxId: inbox(84) }],
      addedAdminInboxes: [{ inboxId: inbox(85) }],
      removedAdminInboxes: [{ inboxId: inbox(86) }],
      addedSuperAdminInboxes: [{ inboxId: inbox(87) }],
      removedSuperAdminInboxes: [{ inboxId: inbox(88) }],
    },
  },
  { name: 'mls_credential', type: 'xmtp.identity.MlsCredential', json: { inboxId: inbox(90) } },
  // --- beyond the list ---
  {
    name: 'multi_remote_attachment',
    type: `${CT}.MultiRemoteAttachment`,
    json: {
      attachments: [
        {
          contentDigest: hex(pat(32, 100)),
          secret: b64(pat(32, 101)),
          nonce: b64(pat(12, 102)),
          salt: b64(pat(32, 103)),
          scheme: 'https://',
          url: 'https://cdn.example.com/a/1',
          contentLength: 0,
          filename: 'photo ✓.jpg',
        },
        {
          contentDigest: hex(pat(32, 104)),
          secret: b64(pat(32, 105)),
          nonce: b64(pat(12, 106)),
          salt: b64(pat(32, 107)),
          scheme: 'https://',
          url: 'https://cdn.example.com/a/2',
          contentLength: 4294967295,
        },
      ],
    },
  },
  {
    name: 'group_metadata_dm',
    type: `${MC}.GroupMetadataV1`,
    json: {
      conversationType: 'CONVERSATION_TYPE_DM',
      creatorInboxId: inbox(110),
      dmMembers: { dmMemberOne: { inboxId: inbox(110) }, dmMemberTwo: { inboxId: inbox(111) } },
    },
  },
  {
    name: 'welcome_pointee_aead_types',
    type: `${MC}.WelcomePointeeEncryptionAeadTypesExtension`,
    json: { supportedAeadTypes: ['WELCOME_POINTEE_ENCRYPTION_AEAD_TYPE_CHACHA20_POLY1305'] },
    hex: '0a0103', // KeyPackage extension 0xff04 as libxmtp 1.9.1 sends it (docs/protocol.md §8)
  },
  {
    name: 'welcome_wrapper_encryption',
    type: `${MC}.WelcomeWrapperEncryption`,
    json: { pubKey: b64(pat(1216, 120)), algorithm: 'WELCOME_WRAPPER_ALGORITHM_XWING_MLKEM_768_DRAFT_6' },
  },
  {
    name: 'fetch_key_packages_response',
    type: `${MLS}.FetchKeyPackagesResponse`,
    json: { keyPackages: [{ keyPackageTlsSerialized: b64(pat(1659, 121)) }, {}, { keyPackageTlsSerialized: b64(pat(5, 122)) }] },
  },
  {
    name: 'get_identity_updates_response',
    type: `${IAPI}.GetIdentityUpdatesResponse`,
    json: {
      responses: [
        {
          inboxId: inbox(130),
          updates: [
            {
              sequenceId: '123456789012',
              serverTimestampNs: '1764412345678901234',
              update: { actions: [{ revoke: { memberToRevoke: { installationPublicKey: b64(pat(32, 131)) } } }], inboxId: inbox(130) },
            },
          ],
        },
        { inboxId: inbox(132) },
      ],
    },
  },
  {
    name: 'get_inbox_ids_response',
    type: `${IAPI}.GetInboxIdsResponse`,
    json: {
      responses: [
        { identifier: '0x1234567890abcdef1234567890abcdef12345678', inboxId: inbox(140), identifierKind: 'IDENTIFIER_KIND_ETHEREUM' },
        { identifier: '0x0000000000000000000000000000000000000001', identifierKind: 'IDENTIFIER_KIND_ETHEREUM' },
      ],
    },
  },
  {
    name: 'batch_query_commit_log_response',
    type: `${MLS}.BatchQueryCommitLogResponse`,
    json: {
      responses: [
        {
          groupId: b64(groupId),
          commitLogEntries: [
            {
              sequenceId: '42',
              serializedCommitLogEntry: b64(pat(120, 150)),
              signature: { bytes: b64(pat(64, 151)), publicKey: b64(pat(32, 152)) },
            },
          ],
          pagingInfo: { direction: 'SORT_DIRECTION_DESCENDING', limit: 20 },
        },
      ],
    },
  },
  {
    name: 'subscribe_group_messages_request',
    type: `${MLS}.SubscribeGroupMessagesRequest`,
    json: { filters: [{ groupId: b64(groupId), idCursor: '1002' }, { groupId: b64(pat(16, 160)) }] },
  },
];

// EncodedContent bodies that are themselves encodings are filled in by the runner, which
// has the codecs: the reply carries an encoded text, the envelope an encoded reply.
export const NESTED = [
  { name: 'encoded_content_reply', field: 'content', from: textContent, type: `${MC}.EncodedContent` },
  { name: 'plaintext_envelope', field: 'v1.content', fromVector: 'encoded_content_reply' },
];
