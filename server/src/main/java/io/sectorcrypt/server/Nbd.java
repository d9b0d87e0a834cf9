package io.sectorcrypt.server;

/**
 * The numbers of the NBD protocol that this server speaks, named as the specification
 * (NetworkBlockDevice/nbd {@code doc/proto.md}) names them; the one home of every magic, flag,
 * type and error code. Section names in the comments are the specification's.
 */
final class Nbd {
    private Nbd() {
    }

    // -- "Newstyle negotiation" and "Fixed newstyle negotiation" ---------------------------

    /** The server's first 64 bits: ASCII "NBDMAGIC". */
    static final long NBDMAGIC = 0x4e42444d41474943L;
    /** Newstyle's second magic, and the prefix of every option the client sends: "IHAVEOPT". */
    static final long IHAVEOPT = 0x49484156454F5054L;
    /** Prefix of every option reply. */
    static final long REPLY_MAGIC = 0x3e889045565a9L;

    // -- "Handshake flags" and "Client flags" ----------------------------------------------

    static final int NBD_FLAG_FIXED_NEWSTYLE = 1;
    static final int NBD_FLAG_NO_ZEROES = 1 << 1;
    static final int NBD_FLAG_C_FIXED_NEWSTYLE = 1;
    static final int NBD_FLAG_C_NO_ZEROES = 1 << 1;
    /** The zero padding that NBD_OPT_EXPORT_NAME's reply ends with unless NO_ZEROES was agreed. */
    static final int EXPORT_NAME_PADDING = 124;

    // -- "Transmission flags" --------------------------------------------------------------

    static final int NBD_FLAG_HAS_FLAGS = 1;
    static final int NBD_FLAG_READ_ONLY = 1 << 1;
    static final int NBD_FLAG_SEND_FLUSH = 1 << 2;
    static final int NBD_FLAG_SEND_FUA = 1 << 3;
    static final int NBD_FLAG_SEND_TRIM = 1 << 5;
    static final int NBD_FLAG_SEND_WRITE_ZEROES = 1 << 6;
    static final int NBD_FLAG_CAN_MULTI_CONN = 1 << 8;

    // -- "Option types" --------------------------------------------------------------------

    static final int NBD_OPT_EXPORT_NAME = 1;
    static final int NBD_OPT_ABORT = 2;
    static final int NBD_OPT_LIST = 3;
    static final int NBD_OPT_INFO = 6;
    static final int NBD_OPT_GO = 7;

    // -- "Option reply types" --------------------------------------------------------------

    static final int NBD_REP_ACK = 1;
    static final int NBD_REP_SERVER = 2;
    static final int NBD_REP_INFO = 3;
    static final int NBD_REP_FLAG_ERROR = 1 << 31;
    static final int NBD_REP_ERR_UNSUP = NBD_REP_FLAG_ERROR | 1;
    static final int NBD_REP_ERR_INVALID = NBD_REP_FLAG_ERROR | 3;
    static final int NBD_REP_ERR_UNKNOWN = NBD_REP_FLAG_ERROR | 6;

    // -- NBD_REP_INFO's information types (under NBD_OPT_INFO and NBD_OPT_GO) ---------------

    static final int NBD_INFO_EXPORT = 0;
    static final int NBD_INFO_NAME = 1;
    static final int NBD_INFO_DESCRIPTION = 2;
    static final int NBD_INFO_BLOCK_SIZE = 3;

    /** "Conventions": strings (export names, descriptions) are at most 4096 bytes of UTF-8. */
    static final int MAX_STRING_BYTES = 4096;

    // -- "Request message" and "Simple reply message" --------------------------------------

    static final int NBD_REQUEST_MAGIC = 0x25609513;
    static final int NBD_SIMPLE_REPLY_MAGIC = 0x67446698;
    /** magic (32) + flags (16) + type (16) + cookie (64) + offset (64) + length (32). */
    static final int REQUEST_BYTES = 28;
    /** magic (32) + error (32) + cookie (64). */
    static final int SIMPLE_REPLY_BYTES = 16;

    // -- "Request types" -------------------------------------------------------------------

    static final int NBD_CMD_READ = 0;
    static final int NBD_CMD_WRITE = 1;
    static final int NBD_CMD_DISC = 2;
    static final int NBD_CMD_FLUSH = 3;
    static final int NBD_CMD_TRIM = 4;
    static final int NBD_CMD_WRITE_ZEROES = 6;

    // -- "Command flags" -------------------------------------------------------------------

    static final int NBD_CMD_FLAG_FUA = 1;
    static final int NBD_CMD_FLAG_NO_HOLE = 1 << 1;

    // -- "Error values" --------------------------------------------------------------------

    static final int NBD_EPERM = 1;
    static final int NBD_EIO = 5;
    static final int NBD_EINVAL = 22;
    static final int NBD_ENOSPC = 28;
    static final int NBD_ESHUTDOWN = 108;

    /** The command's name as the specification writes it, for log lines and refusals. */
    static String commandName(int type) {
        return switch (type) {
            case NBD_CMD_READ -> "NBD_CMD_READ";
            case NBD_CMD_WRITE -> "NBD_CMD_WRITE";
            case NBD_CMD_DISC -> "NBD_CMD_DISC";
            case NBD_CMD_FLUSH -> "NBD_CMD_FLUSH";
            case NBD_CMD_TRIM -> "NBD_CMD_TRIM";
            case NBD_CMD_WRITE_ZEROES -> "NBD_CMD_WRITE_ZEROES";
            default -> "command " + type;
        };
    }
}
