/* nb_ox_nn.h — internal to the layer importers (nb_ox_nn*.c): the geometry of a sliding
 * window (Conv, ConvTranspose, MaxPool, AveragePool) as ONNX's attributes describe it. */
#ifndef NB_OX_NN_H
#define NB_OX_NN_H

#include "nb_ox.h"

/* Spatial axes an importer handles at most (1-D, 2-D, 3-D). */
#define NB_OX_WIN_MAX 3

/* One window per spatial axis i < n: its input size, kernel, stride, dilation, the pads
 * before (pb) and after (pe) as ONNX's pads or auto_pad give them, and the output size.
 * extra: zeros (or -inf) past pe that ceil_mode needs so that the last window fits. */
typedef struct nb_ox_win {
    int n;
    int64_t in[NB_OX_WIN_MAX], k[NB_OX_WIN_MAX], s[NB_OX_WIN_MAX], d[NB_OX_WIN_MAX];
    int64_t pb[NB_OX_WIN_MAX], pe[NB_OX_WIN_MAX], out[NB_OX_WIN_MAX], extra[NB_OX_WIN_MAX];
} nb_ox_win;

/* Reads kernel_shape (kernel: the weight's sizes, or NULL when the attribute is required),
 * strides, dilations (read only when use_dilations), pads and auto_pad, and computes the
 * output sizes of a convolution or pooling over the n spatial sizes in (ceil_mode rounds
 * them up as ONNX's pooling does; -1: a transposed conv's window, whose output the caller
 * computes). -1 after an error. */
int nb_ox_win_read(nb_ox *x, int n, const int64_t *in, const int64_t *kernel, int use_dilations,
                   int ceil_mode, nb_ox_win *w);

/* x padded on its last n axes by pb before and pe + extra after with value (nothing when
 * every pad is zero). */
nb_node *nb_ox_win_pad(nb_ox *x, nb_node *in, const nb_ox_win *w, double value);

#endif
