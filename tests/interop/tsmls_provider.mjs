// A ts-mls crypto provider that also handles cipher suite 3: ts-mls loads
// ChaCha20-Poly1305 for HPKE from an optional package (@hpke/chacha20poly1305) that is not
// installed; this gives it an HPKE AEAD built on @noble/ciphers (already a dependency).
// Every other suite goes to ts-mls's default provider unchanged.
import { CipherSuite, DhkemX25519HkdfSha256 } from "@hpke/core";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { defaultCryptoProvider } from "ts-mls";
import { makeGenericHpke } from "ts-mls/crypto/implementation/hpke.js";
import { makeKdf } from "ts-mls/crypto/implementation/default/makeKdfImpl.js";

class ChaChaAead {
  constructor() {
    this.id = 0x0003;
    this.keySize = 32;
    this.nonceSize = 12;
    this.tagSize = 16;
  }
  createEncryptionContext(key) {
    const k = new Uint8Array(key.slice(0));
    return {
      seal: async (iv, data, aad) =>
        chacha20poly1305(k, new Uint8Array(iv), new Uint8Array(aad)).encrypt(new Uint8Array(data)).buffer,
      open: async (iv, data, aad) =>
        chacha20poly1305(k, new Uint8Array(iv), new Uint8Array(aad)).decrypt(new Uint8Array(data)).buffer,
    };
  }
}

export const provider = {
  async getCiphersuiteImpl(cs) {
    if (cs.hpke.aead !== "CHACHA20POLY1305") return defaultCryptoProvider.getCiphersuiteImpl(cs);
    const base = await defaultCryptoProvider.getCiphersuiteImpl({ ...cs, hpke: { ...cs.hpke, aead: "AES128GCM" } });
    const aead = {
      async encrypt(key, nonce, aad, pt) {
        return chacha20poly1305(key, nonce, aad).encrypt(pt);
      },
      async decrypt(key, nonce, aad, ct) {
        return chacha20poly1305(key, nonce, aad).decrypt(ct);
      },
    };
    const suite = new CipherSuite({
      kem: new DhkemX25519HkdfSha256(),
      kdf: makeKdf(cs.hpke.kdf),
      aead: new ChaChaAead(),
    });
    return { ...base, hpke: await makeGenericHpke(cs.hpke, aead, suite), name: cs.name };
  },
};

