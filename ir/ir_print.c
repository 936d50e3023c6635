/* ir_print.c — pieces of text about nodes that the code generator and the export put in
 * comments: escaped names and a matmul's flags (the graph as text is the format of
 * frontend/nb_graph_write.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

const char *ir_escape_name(const char *name, char *buf, size_t size)
{
    size_t len = 0;
    for (const unsigned char *s = (const unsigned char *)name; *s && len + 5 < size; s++) {
        int safe = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                   (*s >= '0' && *s <= '9') || strchr("_ .:+=-", *s);
        if (safe)
            buf[len++] = (char)*s;
        else
            len += (size_t)snprintf(buf + len, size - len, "\\x%02x", *s);
    }
    buf[len] = 0;
    return buf;
}

const char *ir_op_suffix(const ir_node *n)
{
    static const char *const flags[4] = {"", ".T_a", ".T_b", ".T_a.T_b"};
    return flags[(n->attr.trans_a != 0) | (n->attr.trans_b != 0) << 1];
}
