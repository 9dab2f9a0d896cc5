# Draws the study's plots: gnuplot plots.gp (in this directory)
set terminal pngcairo size 1500,900 font 'Sans,10'
set output 'hist_peak_bits.png'
set grid
set key top right
set multiplot layout 2,3 title 'Bits needed by each output''s peak partial sum (32-bit run), test and train overlaid'
set style fill transparent solid 0.35 noborder
set boxwidth 0.8
set xlabel 'bits needed (accumulator width at which the output never saturates)'
set ylabel 'fraction of outputs'
set xrange [0.5:32.5]
set xtics 2
set title 'conv1'
plot 'hist_bits_test.dat' using 1:($3/47040000) with boxes title 'test', 'hist_bits_train.dat' using 1:($3/235200000) with boxes title 'train'
set title 'conv2'
plot 'hist_bits_test.dat' using 1:($6/16000000) with boxes title 'test', 'hist_bits_train.dat' using 1:($6/80000000) with boxes title 'train'
set title 'fc1'
plot 'hist_bits_test.dat' using 1:($9/1200000) with boxes title 'test', 'hist_bits_train.dat' using 1:($9/6000000) with boxes title 'train'
set title 'fc2'
plot 'hist_bits_test.dat' using 1:($12/840000) with boxes title 'test', 'hist_bits_train.dat' using 1:($12/4200000) with boxes title 'train'
set title 'fc3'
plot 'hist_bits_test.dat' using 1:($15/100000) with boxes title 'test', 'hist_bits_train.dat' using 1:($15/500000) with boxes title 'train'
set title 'all layers together'
plot 'hist_bits_test.dat' using 1:($18/65180000) with boxes title 'test', 'hist_bits_train.dat' using 1:($18/325900000) with boxes title 'train'
unset multiplot
set xrange [*:*]
set xtics autofreq
unset boxwidth
set terminal pngcairo size 1500,900 font 'Sans,10'
set output 'hist_outputs.png'
set grid
set key top right
set multiplot layout 2,3 title 'Layer outputs (final accumulator, before ReLU) at 32 bits, test and train overlaid'
set style fill transparent solid 0.35 noborder
set xlabel 'layer output value'
set ylabel 'fraction of values'
unset logscale y
set title 'conv1'
plot 'hist_out_conv1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_conv1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'conv2'
plot 'hist_out_conv2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_conv2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc1'
plot 'hist_out_fc1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc2'
plot 'hist_out_fc2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc3'
plot 'hist_out_fc3_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc3_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
unset multiplot
set terminal pngcairo size 1500,900 font 'Sans,10'
set output 'hist_outputs_log.png'
set grid
set key top right
set multiplot layout 2,3 title 'Layer outputs (final accumulator, before ReLU) at 32 bits, test and train overlaid (log count axis)'
set style fill transparent solid 0.35 noborder
set xlabel 'layer output value'
set ylabel 'fraction of values (log)'
set logscale y
set title 'conv1'
plot 'hist_out_conv1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_conv1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'conv2'
plot 'hist_out_conv2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_conv2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc1'
plot 'hist_out_fc1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc2'
plot 'hist_out_fc2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc3'
plot 'hist_out_fc3_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_out_fc3_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
unset multiplot
set terminal pngcairo size 1500,900 font 'Sans,10'
set output 'hist_peaks_log.png'
set grid
set key top right
set multiplot layout 2,3 title 'Peak |partial sum| per output at 32 bits, test and train overlaid (log count axis)'
set style fill transparent solid 0.35 noborder
set xlabel 'largest magnitude held by the output''s accumulators'
set ylabel 'fraction of values (log)'
set logscale y
set title 'conv1'
plot 'hist_peak_conv1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_peak_conv1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'conv2'
plot 'hist_peak_conv2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_peak_conv2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc1'
plot 'hist_peak_fc1_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_peak_fc1_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc2'
plot 'hist_peak_fc2_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_peak_fc2_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
set title 'fc3'
plot 'hist_peak_fc3_test.dat' using 1:($3>0?$3:1/0) with boxes title 'test', 'hist_peak_fc3_train.dat' using 1:($3>0?$3:1/0) with boxes title 'train'
unset multiplot
set terminal pngcairo size 1000,600 font 'Sans,10'
set output 'sweep.png'
set grid
set key top right
unset logscale y
set title 'Approach A: accuracy and energy against one common accumulator width'
set xlabel 'accumulator width B (bits, all layers)'
set ylabel 'accuracy (%)'
set y2label 'energy (SPEC 8 units, millions)'
set ytics nomirror
set y2tics
set key bottom right
set xrange [11:33]
set xtics 1
plot 'sweep.dat' using 1:3 with linespoints lw 2 title 'test accuracy', 'sweep.dat' using 1:4 with linespoints lw 2 title 'train accuracy', 'sweep.dat' using 1:($2/1e6) axes x1y2 with linespoints dt 2 title 'energy'
unset y2tics
unset y2label
set ytics mirror
set xrange [*:*] noreverse
set xtics autofreq
set terminal pngcairo size 1000,650 font 'Sans,10'
set output 'pareto.png'
set grid
set key top right
set title "Energy-accuracy Pareto front (test, per-layer widths in the search box)\nbaseline 53.40 %"
set xlabel 'energy (SPEC 8 units, millions; log scale)'
set ylabel 'test accuracy (%)'
set key bottom right
set logscale x
set xrange [155.3:895.7]
set offsets 0,0,1,1
set xtics (100, 125, 150, 175, 200, 250, 300, 400, 500, 600, 700, 800, 1000)
plot 'pareto.dat' index 0 using ($1/1e6):2 with steps lw 2 title 'Pareto front (staircase)', '' index 0 using ($1/1e6):2 with points pt 7 ps 0.8 notitle, '' index 1 using ($1/1e6):2 with points pt 5 ps 1.6 title 'chosen settings', '' index 1 using ($1/1e6):2:3 with labels offset 1.5,-0.8 left notitle, 53.4000 with lines dt 3 title 'baseline accuracy'
