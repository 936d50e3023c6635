/* cg_gemm.c — TEMPORARY naive gemm text until the gemmtext branch lands (replaced then). */
#include "cg.h"
void cg_gemm_put(ir_text *out, const unsigned char *rt_used)
{
    static const char *const names[4] = {"nb_rt_gemm_f32", "nb_rt_gemm_f64", "nb_rt_gemm_one_f32",
                                         "nb_rt_gemm_one_f64"};
    static const int rows[4] = {CG_RT_nb_rt_gemm_f32, CG_RT_nb_rt_gemm_f64,
                                CG_RT_nb_rt_gemm_one_f32, CG_RT_nb_rt_gemm_one_f64};
    for (int i = 0; i < 4; i++) {
        if (!rt_used[rows[i]])
            continue;
        const char *t = i % 2 ? "double" : "float";
        ir_text_printf(out,
                       "static void %s(int ta, int tb, long m, long n, long k, const %s *a, const "
                       "%s *b, %s *c)\n{\n"
                       "    for (long i = 0; i < m; i++)\n        for (long j = 0; j < n; j++) {\n "
                       "           %s s = 0;\n"
                       "            for (long p = 0; p < k; p++)\n                s += (ta ? a[p * "
                       "m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);\n"
                       "            c[i * n + j] = s;\n        }\n}\n\n",
                       names[i], t, t, t, t);
    }
}
