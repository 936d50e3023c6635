/* test_jit_memory.c — libtcc's code runs from pages that are never writable and
 * executable at once: after nb_compile the entry point lies in a read-execute mapping,
 * no mapping of the process is writable and executable, and freeing the program unmaps
 * the code. Reads /proc/self/maps (Linux). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nabla.h"
#include "rt.h"

/* The permissions ("r-xp") of the mapping holding addr into perms; 0 when found. Also
 * counts the mappings that are both writable and executable into *wx. */
static int mapping_of(uintptr_t addr, char perms[5], int *wx)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = -1;
    *wx = 0;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) != 3)
            continue;
        if (p[1] == 'w' && p[2] == 'x')
            (*wx)++;
        if (addr >= lo && addr < hi) {
            memcpy(perms, p, 5);
            found = 0;
        }
    }
    fclose(f);
    return found;
}

static uintptr_t entry_address(const nb_program *p)
{
    uintptr_t a;
    memcpy(&a, &p->jit.entry, sizeof a);
    return a;
}

static nb_program *compile_square(void)
{
    nb_graph *g = nb_graph_new();
    nb_node *x = nb_input(g, "x", NB_F64, 0, NULL);
    nb_node *y = nb_mul(g, x, x);
    nb_compile_options opt = {.outputs = &y, .n_outputs = 1};
    nb_program *p = nb_compile(g, &opt);
    if (!p)
        fail_msg("compile: %s", nb_graph_error(g));
    nb_graph_free(g);
    return p;
}

static void test_code_is_read_execute(void **state)
{
    (void)state;
    nb_program *p = compile_square(), *q = compile_square();
    double x = 3;
    assert_int_equal(nb_program_bind(p, "x", &x), 0);
    assert_int_equal(nb_program_run(p), 0);
    assert_float_equal(*(const double *)nb_program_output(p, 0), 9.0, 0);
    const nb_program *progs[2] = {p, q};
    for (int i = 0; i < 2; i++) {
        char perms[5] = "";
        int wx;
        assert_int_equal(mapping_of(entry_address(progs[i]), perms, &wx), 0);
        if (strncmp(perms, "r-x", 3) != 0)
            fail_msg("the code of program %d is mapped %s, expected r-x", i, perms);
        assert_int_equal(wx, 0);
    }
    uintptr_t gone = entry_address(p);
    nb_program_free(p);
    char perms[5] = "";
    int wx;
    if (mapping_of(gone, perms, &wx) == 0 && perms[2] == 'x')
        fail_msg("the code of a freed program is still mapped %s", perms);
    nb_program_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_is_read_execute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
