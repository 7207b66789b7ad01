"""Clerk-facing sentences for the technical fields of a verification report (issue 16 item 10).

A clerk acts on a report: every line shown on the page or the PDF receipt is a Vietnamese sentence (English with
``lang="en"``) that agrees with the verdict. The machine values (ETSI sub-indications, pyHanko modification
levels, coverage kinds, policy keys, trust-set ids) stay in the JSON; this module turns each into words, and adds
what to do next for each outcome (STANDARDS.md §7: the result is reported in Vietnamese). Framework-free, like
the rest of :mod:`signing`; :mod:`signing.pdf.render` lays the sentences out.
"""

from __future__ import annotations

from collections.abc import Mapping

from signing.pdf.report import (
    AlgorithmInfo,
    ChangesAfterSigning,
    Coverage,
    Indication,
    ModificationLevel,
    SignatureReport,
    SubIndication,
)

__all__ = [
    "advice", "algorithm_text", "anchor_text", "changes_text", "coverage_text", "policy_lines", "reason",
    "remote_outcome",
]

_VI, _EN = 0, 1

_REASONS: dict[SubIndication | None, tuple[str, str]] = {
    None: ("", ""),
    SubIndication.FORMAT_FAILURE: ("Chữ ký trong tệp sai cấu trúc hoặc không đọc được.",
                                   "The signature in the file is malformed or unreadable."),
    SubIndication.HASH_FAILURE: ("Nội dung được ký đã bị thay đổi sau khi ký.",
                                 "The signed content was altered after signing."),
    SubIndication.SIG_CRYPTO_FAILURE: ("Giá trị chữ ký không khớp với chứng thư của người ký.",
                                       "The signature value does not match the signer's certificate."),
    SubIndication.REVOKED: ("Chứng thư của người ký đã bị thu hồi trước thời điểm ký.",
                            "The signer's certificate was revoked before the signing time."),
    SubIndication.EXPIRED: ("Chứng thư của người ký đã hết hạn trước thời điểm ký.",
                            "The signer's certificate had expired before the signing time."),
    SubIndication.NOT_YET_VALID: ("Chứng thư của người ký chưa có hiệu lực tại thời điểm ký.",
                                  "The signer's certificate was not yet valid at the signing time."),
    SubIndication.SIG_CONSTRAINTS_FAILURE: (
        "Tệp đã bị sửa nội dung hoặc được bổ sung theo cách không được phép sau khi ký.",
        "The file was modified, or added to in a way that is not permitted, after signing."),
    SubIndication.CHAIN_CONSTRAINTS_FAILURE: (
        "Chứng thư của người ký không đáp ứng yêu cầu để ký văn bản (mục đích sử dụng khóa hoặc ràng buộc khác).",
        "The signer's certificate does not meet the requirements for signing (key usage or other constraints)."),
    SubIndication.CERTIFICATE_CHAIN_GENERAL_FAILURE: (
        "Chuỗi chứng thư của người ký không hợp lệ.", "The signer's certificate chain is not valid."),
    SubIndication.CRYPTO_CONSTRAINTS_FAILURE: (
        "Thuật toán hoặc độ dài khóa của chữ ký không còn được chấp nhận là an toàn.",
        "The signature's algorithm or key size is no longer accepted as safe."),
    SubIndication.NO_SIGNING_CERTIFICATE_FOUND: (
        "Chữ ký không kèm chứng thư của người ký.", "The signature does not carry the signer's certificate."),
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: (
        "Chứng thư của người ký không dẫn về gốc tin cậy nào mà cổng được cấu hình để tin cậy.",
        "The signer's certificate does not lead to any trust anchor this gateway is configured to trust."),
    SubIndication.REVOKED_NO_POE: (
        "Chứng thư của người ký đã bị thu hồi, và không có dấu thời gian chứng minh chữ ký có trước khi thu hồi.",
        "The signer's certificate was revoked, and no timestamp proves the signature existed before that."),
    SubIndication.REVOKED_CA_NO_POE: (
        "Một chứng thư của tổ chức cấp trong chuỗi đã bị thu hồi, và không có dấu thời gian chứng minh chữ ký có "
        "trước đó.",
        "A CA certificate in the chain was revoked, and no timestamp proves the signature existed before that."),
    SubIndication.OUT_OF_BOUNDS_NO_POE: (
        "Thời điểm ký tự khai nằm ngoài thời hạn của chứng thư, và không có dấu thời gian làm bằng chứng.",
        "The claimed signing time is outside the certificate's validity period, and no timestamp proves it."),
    SubIndication.TRY_LATER: (
        "Chưa kiểm tra được tình trạng thu hồi chứng thư (máy chủ OCSP/CRL không trả lời).",
        "The certificate's revocation status could not be obtained yet (OCSP/CRL server did not answer)."),
    SubIndication.SIGNED_DATA_NOT_FOUND: ("Không tìm thấy dữ liệu được ký trong tệp.",
                                          "The signed data could not be found in the file."),
}

_ADVICE_FAILED = ("Không sử dụng tệp này như bản đã ký; đề nghị nơi gửi cung cấp lại văn bản.",
                  "Do not rely on this file as the signed document; ask the sender for the document again.")
_ADVICE: dict[SubIndication | None, tuple[str, str]] = {
    SubIndication.NO_CERTIFICATE_CHAIN_FOUND: (
        "Nếu văn bản do cơ quan nhà nước hoặc tổ chức cung cấp dịch vụ chứng thực hợp pháp ký, đề nghị quản trị "
        "viên bổ sung gốc tin cậy tương ứng; nếu không, coi như chưa xác định được người ký.",
        "If a state agency or a licensed certification service signed it, ask the administrator to add its trust "
        "anchor; otherwise treat the signer as unknown."),
    SubIndication.TRY_LATER: ("Kiểm tra lại sau ít phút.", "Verify again in a few minutes."),
}
_ADVICE_INDETERMINATE = ("Chưa đủ căn cứ để coi chữ ký là hợp lệ; xem các cảnh báo bên dưới và hỏi quản trị viên "
                         "nếu cần.",
                         "There is not enough evidence to treat the signature as valid; read the warnings below and "
                         "ask the administrator if needed.")


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[_EN if lang == "en" else _VI]


def reason(indication: Indication, sub: SubIndication | None, lang: str = "vi") -> str:
    """Why the verdict is what it is, in one sentence ("" for a valid signature)."""
    if indication is Indication.TOTAL_PASSED:
        return ""
    return _pick(_REASONS.get(sub, _REASONS[None]), lang)


def advice(indication: Indication, sub: SubIndication | None, lang: str = "vi") -> str:
    """What the clerk should do next ("" for a valid signature)."""
    if indication is Indication.TOTAL_PASSED:
        return ""
    if indication is Indication.TOTAL_FAILED:
        return _pick(_ADVICE_FAILED, lang)
    return _pick(_ADVICE.get(sub, _ADVICE_INDETERMINATE), lang)


_COVERAGE = {
    Coverage.ENTIRE_FILE: ("Toàn bộ tệp.", "The whole file."),
    Coverage.ENTIRE_REVISION: ("Một phiên bản trọn vẹn của tệp; tệp có phần được thêm sau phiên bản đó.",
                               "A complete revision of the file; the file has parts added after that revision."),
    Coverage.PARTIAL: ("Chỉ một phần của tệp, không trọn một phiên bản.",
                       "Only part of the file, not a complete revision."),
}


def coverage_text(coverage: Coverage, lang: str = "vi") -> str:
    return _pick(_COVERAGE[coverage], lang)


_CHANGES = {
    ModificationLevel.NONE: ("Không có thay đổi nào sau khi ký.", "No change after signing."),
    ModificationLevel.LTA_UPDATES: ("Chỉ bổ sung dữ liệu kiểm tra chữ ký hoặc dấu thời gian tài liệu (được phép).",
                                    "Only validation data or document timestamps were added (permitted)."),
    ModificationLevel.FORM_FILLING: ("Chỉ bổ sung chữ ký khác hoặc điền ô biểu mẫu (được phép).",
                                     "Only further signatures or form values were added (permitted)."),
    ModificationLevel.ANNOTATIONS: ("Chỉ thêm ghi chú hoặc chữ ký khác (được phép).",
                                    "Only comments or further signatures were added (permitted)."),
    ModificationLevel.OTHER: ("Nội dung tệp đã bị sửa sau khi ký (không được phép).",
                              "The file's content was modified after signing (not permitted)."),
}


def changes_text(changes: ChangesAfterSigning, lang: str = "vi") -> str:
    text = _pick(_CHANGES[changes.level], lang)
    extra = []
    if changes.changed_form_fields:
        label = "ô/chữ ký" if lang != "en" else "fields"
        extra.append(f"{label}: {', '.join(changes.changed_form_fields)}")
    if changes.pages_added:
        extra.append(f"thêm {changes.pages_added} trang" if lang != "en" else f"{changes.pages_added} page(s) added")
    if changes.pages_removed:
        extra.append(f"bớt {changes.pages_removed} trang" if lang != "en"
                     else f"{changes.pages_removed} page(s) removed")
    return text if not extra else f"{text[:-1]} ({'; '.join(extra)})."


# Set names are configuration ids; people read who the anchor is. The two conventional sets of signing.pdf.trust.
_SET_NAMES = {
    "vn-national-root": ("Chứng thư số gốc quốc gia (Vietnam National Root CA, NEAC)",
                         "Vietnam National Root CA (NEAC)"),
    "vn-gov-specialised": ("Chứng thư số chuyên dùng Chính phủ (Ban Cơ yếu Chính phủ)",
                           "Government specialised root (Ban Cơ yếu Chính phủ)"),
}


def anchor_text(sig: SignatureReport, lang: str = "vi") -> str:
    """The trust anchor a signature chained to, by what it is, not by the configuration id of its set."""
    if sig.anchor_set is None or not sig.certificate_path:
        return "Không dẫn về gốc tin cậy nào." if lang != "en" else "No trust anchor reached."
    if sig.anchor_set in _SET_NAMES:
        return _pick(_SET_NAMES[sig.anchor_set], lang) + "."
    root = sig.certificate_path[-1]
    name = root.common_name or root.subject
    return (f"{name} (gốc tin cậy do quản trị viên cổng cấu hình)." if lang != "en"
            else f"{name} (a trust anchor configured by the gateway's administrator).")


_SIGNATURE_KINDS = {"rsassa_pss": "RSA-PSS", "rsa": "RSA", "ec": "ECDSA", "ecdsa": "ECDSA", "dsa": "DSA",
                    "ed25519": "Ed25519", "ed448": "Ed448"}


def algorithm_text(alg: AlgorithmInfo, lang: str = "vi") -> str:
    digest = alg.digest.upper().replace("SHA", "SHA-").replace("--", "-")
    mechanism = alg.signature.lower()
    kind = next((v for k, v in _SIGNATURE_KINDS.items() if k in mechanism), alg.key_type.upper())
    key = f"{alg.key_type.upper()} {alg.key_size} bit"
    if lang == "en":
        text = f"hash {digest}, {kind} signature, {key} key"
        return text + (" (no longer safe)." if alg.weak else ".")
    text = f"Hàm băm {digest}, chữ ký {kind}, khóa {key}"
    return text + (" (không còn an toàn)." if alg.weak else ".")


def policy_lines(policy: Mapping[str, str], lang: str = "vi") -> tuple[str, ...]:
    """The verification policy as sentences (the JSON keeps the ``key=value`` form)."""
    en = lang == "en"
    lines = []
    mode = policy.get("revocation")
    if mode == "hard-fail":
        lines.append("Revocation status must be checked; if it cannot be, the signature is not accepted as valid."
                     if en else "Bắt buộc kiểm tra tình trạng thu hồi; không kiểm tra được thì chưa công nhận hợp lệ.")
    elif mode == "soft-fail":
        lines.append("Revocation status is checked when possible; if it cannot be, only a warning is given."
                     if en else "Kiểm tra tình trạng thu hồi khi có thể; không kiểm tra được thì chỉ cảnh báo.")
    source = policy.get("revocation_source")
    if source == "embedded-only":
        lines.append("Only the revocation data inside the file is used (no online lookup)."
                     if en else "Chỉ dùng dữ liệu thu hồi có trong tệp (không tra cứu trực tuyến).")
    elif source == "online":
        lines.append("Revocation is looked up online (OCSP/CRL) when the file does not carry it."
                     if en else "Tra cứu trực tuyến (OCSP/CRL) khi tệp không mang sẵn dữ liệu thu hồi.")
    sets = [s for s in policy.get("anchor_sets", "").split(",") if s]
    if sets:
        names = [_pick(_SET_NAMES[s], lang) if s in _SET_NAMES else None for s in sets]
        known = [n for n in names if n]
        others = len(names) - len(known)
        if others:
            known.append(f"{others} gốc tin cậy do quản trị viên cấu hình" if not en
                         else f"{others} anchor set(s) configured by the administrator")
        lines.append(("Trusted anchors: " if en else "Gốc tin cậy: ") + "; ".join(known) + ".")
    return tuple(lines)


# --- remote signing (issue 23): what the clerk is told about a signature asked of a remote-signing service ----

_REMOTE: dict[str, tuple[str, str]] = {
    "done": ("Người ký đã xác nhận trên điện thoại; văn bản đã được ký số.",
             "The signer confirmed on the phone; the document is signed."),
    "pending": ("Đang chờ người ký xác nhận trên điện thoại.",
                "Waiting for the signer to confirm on the phone."),
    "rejected": ("Người ký đã từ chối ký trên điện thoại; văn bản chưa được ký.",
                 "The signer refused on the phone; the document is not signed."),
    "expired": ("Hết thời gian chờ xác nhận; văn bản chưa được ký. Hãy gửi lại yêu cầu ký.",
                "The confirmation window closed; the document is not signed. Send the signing request again."),
    "remote_unreachable": ("Không kết nối được dịch vụ ký số từ xa; hãy thử lại sau ít phút.",
                           "The remote-signing service cannot be reached; try again in a few minutes."),
    "remote_auth_failed": ("Dịch vụ ký số từ xa từ chối tài khoản của cổng; hãy báo quản trị viên.",
                           "The remote-signing service refused the gateway's account; tell the administrator."),
    "remote_bad_signature": ("Chữ ký dịch vụ trả về không khớp với chứng thư số; văn bản chưa được ký.",
                             "The signature returned by the service does not match the certificate; the document "
                             "is not signed."),
    "remote_certificate_changed": ("Dịch vụ đã ký bằng chứng thư số khác với chứng thư đã chọn; văn bản chưa được "
                                   "ký.", "The service signed with another certificate than the one chosen; the "
                                   "document is not signed."),
    "remote_bad_request": ("Dịch vụ ký số từ xa từ chối yêu cầu (sai mã người ký hoặc chứng thư số).",
                           "The remote-signing service refused the request (wrong signer id or certificate)."),
}
_REMOTE_OTHER = ("Không hoàn tất được việc ký số từ xa; văn bản chưa được ký. Hãy báo quản trị viên.",
                 "Remote signing could not be completed; the document is not signed. Tell the administrator.")


def remote_outcome(status: str, code: str | None = None, lang: str = "vi") -> str:
    """The sentence for a remote signing transaction's ``status`` (done, pending, rejected, expired, failed) and,
    when it failed or the provider is away, its error ``code``."""
    key = code if code in _REMOTE and status in ("failed", "pending") else status
    return _pick(_REMOTE.get(key, _REMOTE_OTHER), lang)
